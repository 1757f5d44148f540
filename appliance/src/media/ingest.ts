// The room's camera and microphone entering a meeting's router: two comedia
// PlainTransports. ffmpeg sends the sound, and the picture too when the edge is
// set to; by default GStreamer sends the picture, because it answers keyframe
// requests (capture/gst-args.ts), with its RTCP through rtp/rtcp-relay.ts. The
// microphone's packets pass a small relay that writes the measured level into
// each (rtp/level-relay.ts), so the host's speaker observer hears this room. If
// a sender dies the ingest reports 'failed' and the room starts a fresh one
// (new transports: comedia locks on the first sender's address, and new
// senders send from new ports).
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import {
  INGEST,
  ingestRtpParameters,
  type PlainIn,
  type RoomRouter,
  type Stream,
  type StreamInfo,
} from './adapter/index.js';
import { Events, type DiemcauError } from '@diemcau/shared';
import { chooseCameraMode, probeCamera, type CameraFormat } from './capture/camera-formats.js';
import { gstVideoArgs, type GstVideoTargets } from './capture/gst-args.js';
import { chooseH264Encoder, type EncoderChoice } from './capture/video-encoder.js';
import { findMicrophone } from './capture/echo-source.js';
import { CaptureProcess } from './capture/process.js';
import { ingestArgs, type CaptureConfig } from './ffmpeg/args.js';
import { parseLevelLine } from './rtp/audio-level.js';
import { LevelRelay } from './rtp/level-relay.js';
import { RtcpRelay } from './rtp/rtcp-relay.js';

export interface IngestOptions {
  router: RoomRouter;
  capture: CaptureConfig;
  ffmpegBin: string;
  siteId: string;
  edgeId: string;
  log: Logger;
}

/** A capture process and what it sends: ffmpeg sends the picture too when GStreamer does not. */
interface Sender {
  role: 'video' | 'audio' | 'video+audio';
  process: CaptureProcess;
}

export class LocalIngest {
  readonly events = new Events<{ failed: [DiemcauError] }>();
  private closed = false;

  private constructor(
    readonly video: Stream,
    readonly audio: Stream,
    /** The camera's small picture for thumbnails (layers.ts); null when the sender sends one size only. */
    readonly small: Stream | null,
    private readonly transports: PlainIn[],
    private readonly relays: { close(): void }[],
    private readonly senders: Sender[],
  ) {
    for (const { process: sender } of senders) {
      sender.events.on('exit', (err) => {
        if (err && !this.closed) this.events.emit('failed', err);
      });
    }
  }

  /**
   * The camera's format, size and rate: as set, or with 'auto' as the camera
   * offers (capture/camera-formats.ts). A camera that cannot be asked gets
   * MJPEG, which nearly every USB camera speaks.
   */
  private static async cameraMode(o: IngestOptions): Promise<{ capture: CaptureConfig; format: CameraFormat }> {
    const c = o.capture;
    if (c.hardware !== 'real' || c.videoSender !== 'gstreamer') return { capture: c, format: 'raw' };
    if (c.cameraFormat !== 'auto') return { capture: c, format: c.cameraFormat };
    const probe = await probeCamera(c.videoDevice);
    const choice = chooseCameraMode(probe.modes, c);
    if (!choice.mode) {
      o.log.warn(
        { device: c.videoDevice, error: probe.error, reason: choice.reason },
        'camera formats unknown; asking for MJPEG',
      );
      return { capture: c, format: 'mjpeg' };
    }
    const m = choice.mode;
    (choice.exact ? o.log.info.bind(o.log) : o.log.warn.bind(o.log))(
      { device: c.videoDevice, mode: m, reason: choice.reason },
      'camera mode chosen',
    );
    return { capture: { ...c, width: m.width, height: m.height, fps: m.fps }, format: m.format };
  }

  /** The GPU encoder's probe, run once per edge process: the box's hardware does not change under it. */
  private static encoderChoice: Promise<EncoderChoice> | null = null;

  /**
   * A real camera's H.264 encoder: the GPU's where one works, x264 otherwise
   * (capture/video-encoder.ts), said in the log.
   */
  private static async videoEncoder(o: IngestOptions, c: CaptureConfig): Promise<CaptureConfig> {
    if (c.hardware !== 'real' || c.videoSender !== 'gstreamer' || c.videoCodec !== 'h264' || c.h264Encoder) return c;
    LocalIngest.encoderChoice ??= chooseH264Encoder({ gstLaunchBin: c.gstLaunchBin });
    const choice = await LocalIngest.encoderChoice;
    o.log.info({ encoder: choice.encoder, reason: choice.reason }, 'camera encoder chosen');
    return { ...c, h264Encoder: choice.encoder };
  }

  /**
   * A real room's microphone: the echo-cancelled source when the box's audio
   * server has it (capture/echo-source.ts), the raw device otherwise, said in the log.
   */
  private static async microphone(o: IngestOptions): Promise<CaptureConfig> {
    const c = o.capture;
    if (c.hardware !== 'real') return c;
    const mic = await findMicrophone(c.audioDevice, c.echoCancel ?? null);
    if (mic.echoCancelled) o.log.info({ device: mic.device }, 'microphone: echo-cancelled source');
    else
      o.log.warn(
        { device: mic.device, reason: mic.reason },
        "microphone captured without echo cancellation: the TV's sound will be sent back to the other rooms",
      );
    return { ...c, audioDevice: mic.device };
  }

  static async start(o: IngestOptions): Promise<LocalIngest> {
    const info = { siteId: o.siteId, originEdgeId: o.edgeId };
    const cname = `${o.edgeId}/${o.siteId}`;
    const vt = await o.router.createPlainIn('127.0.0.1');
    const at = await o.router.createPlainIn('127.0.0.1').catch((err: unknown) => {
      vt.close();
      throw err;
    });
    const relays: { close(): void }[] = [];
    const senders: Sender[] = [];
    const transports: PlainIn[] = [vt, at];
    try {
      const levels = await LevelRelay.open(at.tuple, INGEST.audioLevelExtId, o.log);
      relays.push(levels);
      const vSsrc = randomInt(1, 2 ** 31);
      const aSsrc = randomInt(1, 2 ** 31);
      const video = await vt.produce({
        kind: 'video',
        rtpParameters: ingestRtpParameters('video', o.capture.videoCodec, vSsrc, cname),
        info,
      });
      const audio = await at.produce({
        kind: 'audio',
        rtpParameters: ingestRtpParameters('audio', o.capture.videoCodec, aSsrc, cname),
        info,
      });
      const videoTarget = {
        ip: vt.tuple.ip,
        port: vt.tuple.port,
        rtcpPort: vt.rtcpPort ?? vt.tuple.port + 1,
        ssrc: vSsrc,
      };
      const gst = o.capture.videoSender === 'gstreamer';
      let small: { stream: Stream; target: GstVideoTargets } | null = null;
      if (gst) {
        const rtcp = await RtcpRelay.open({ ip: vt.tuple.ip, port: videoTarget.rtcpPort }, vSsrc, o.log);
        relays.push(rtcp);
        const mode = await LocalIngest.cameraMode(o);
        const camera = { ...mode, capture: await LocalIngest.videoEncoder(o, mode.capture) };
        if (o.capture.smallKbps) {
          small = await LocalIngest.smallLayer(o, camera.capture, info, cname, transports, relays);
        }
        senders.push({
          role: 'video',
          process: new CaptureProcess({
            bin: o.capture.gstLaunchBin,
            log: o.log,
            label: `camera ${o.siteId}`,
            args: gstVideoArgs(
              camera.capture,
              o.siteId,
              { rtp: videoTarget, rtcp: { sendPort: rtcp.port, recvPort: rtcp.senderPort } },
              camera.format,
              small?.target ?? null,
            ),
          }),
        });
      }
      const args = ingestArgs(
        await LocalIngest.microphone(o),
        o.siteId,
        gst ? null : videoTarget,
        // RTP through the relay; RTCP straight to the transport.
        { ip: '127.0.0.1', port: levels.port, rtcpPort: at.rtcpPort ?? at.tuple.port + 1, ssrc: aSsrc },
      );
      senders.push({
        role: gst ? 'audio' : 'video+audio',
        process: new CaptureProcess({
          bin: o.ffmpegBin,
          args: ['-nostdin', '-hide_banner', '-loglevel', 'warning', ...args],
          log: o.log,
          label: `ingest ${o.siteId}`,
          onFd3Line: (line) => {
            const db = parseLevelLine(line);
            if (db !== null) levels.setLevel(db);
          },
        }),
      });
      o.log.info(
        {
          siteId: o.siteId,
          video: video.id,
          small: small?.stream.id ?? null,
          audio: audio.id,
          hardware: o.capture.hardware,
          videoSender: o.capture.videoSender,
        },
        'local ingest started',
      );
      return new LocalIngest(video, audio, small?.stream ?? null, transports, relays, senders);
    } catch (err) {
      await Promise.all(senders.map((s) => s.process.close()));
      for (const r of relays) r.close();
      for (const t of transports) t.close();
      throw err;
    }
  }

  /**
   * The small picture's way in: a transport, a producer and an RTCP relay of
   * its own, so its keyframe requests reach its own encoder (the sender's
   * second rtpbin session). Whatever it opens goes into `transports` and
   * `relays`, closed with the rest.
   */
  private static async smallLayer(
    o: IngestOptions,
    capture: CaptureConfig,
    info: StreamInfo,
    cname: string,
    transports: PlainIn[],
    relays: { close(): void }[],
  ): Promise<{ stream: Stream; target: GstVideoTargets }> {
    const st = await o.router.createPlainIn('127.0.0.1');
    transports.push(st);
    const ssrc = randomInt(1, 2 ** 31);
    const rtcpPort = st.rtcpPort ?? st.tuple.port + 1;
    const stream = await st.produce({
      kind: 'video',
      rtpParameters: ingestRtpParameters('video', capture.videoCodec, ssrc, cname),
      info: { ...info, layer: 'small' },
    });
    const relay = await RtcpRelay.open({ ip: st.tuple.ip, port: rtcpPort }, ssrc, o.log);
    relays.push(relay);
    return {
      stream,
      target: {
        rtp: { ip: st.tuple.ip, port: st.tuple.port, rtcpPort, ssrc },
        rtcp: { sendPort: relay.port, recvPort: relay.senderPort },
      },
    };
  }

  get streams(): Stream[] {
    return this.small ? [this.video, this.small, this.audio] : [this.video, this.audio];
  }

  /** The capture processes, for figures (CPU per sender) and diagnostics. */
  processes(): { role: 'video' | 'audio'; pid: number }[] {
    return this.senders.flatMap((s) => {
      const pid = s.process.pid;
      if (pid === undefined) return [];
      return s.role === 'video+audio'
        ? [
            { role: 'video' as const, pid },
            { role: 'audio' as const, pid },
          ]
        : [{ role: s.role, pid }];
    });
  }

  /** Chair controls act here: a muted room's microphone is paused at its source edge. */
  async setMicOpen(open: boolean): Promise<void> {
    if (this.closed) return;
    if (open) await this.audio.resume();
    else await this.audio.pause();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.senders.map((s) => s.process.close()));
    for (const r of this.relays) r.close();
    for (const t of this.transports) t.close();
  }
}
