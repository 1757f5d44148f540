// The room's camera and microphone entering a meeting's router: two comedia
// PlainTransports fed by one ffmpeg process. The microphone's packets pass a
// small relay that writes the measured level into each (rtp/level-relay.ts),
// so the host's speaker observer hears this room. If ffmpeg dies the ingest reports
// 'failed' and the room starts a fresh one (new transports: comedia locks on
// the first sender's address, and a new ffmpeg sends from new ports).
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { DiemcauError } from '@diemcau/shared';
import { INGEST, ingestRtpParameters, type PlainIn, type RoomRouter, type Stream } from './adapter/index.js';
import { Events } from './events.js';
import { ingestArgs, type CaptureConfig } from './ffmpeg/args.js';
import { FfmpegProcess } from './ffmpeg/process.js';
import { parseLevelLine } from './rtp/audio-level.js';
import { LevelRelay } from './rtp/level-relay.js';

export interface IngestOptions {
  router: RoomRouter;
  capture: CaptureConfig;
  ffmpegBin: string;
  siteId: string;
  edgeId: string;
  log: Logger;
}

export class LocalIngest {
  readonly events = new Events<{ failed: [DiemcauError] }>();
  private closed = false;

  private constructor(
    readonly video: Stream,
    readonly audio: Stream,
    private readonly transports: PlainIn[],
    private readonly relay: LevelRelay,
    private readonly ffmpeg: FfmpegProcess,
  ) {
    ffmpeg.events.on('exit', (err) => {
      if (err && !this.closed) this.events.emit('failed', err);
    });
  }

  static async start(o: IngestOptions): Promise<LocalIngest> {
    const info = { siteId: o.siteId, originEdgeId: o.edgeId };
    const cname = `${o.edgeId}/${o.siteId}`;
    const vt = await o.router.createPlainIn('127.0.0.1');
    const at = await o.router.createPlainIn('127.0.0.1').catch((err: unknown) => { vt.close(); throw err; });
    let relay: LevelRelay | null = null;
    try {
      relay = await LevelRelay.open(at.tuple, INGEST.audioLevelExtId, o.log);
      const levels = relay;
      const vSsrc = randomInt(1, 2 ** 31);
      const aSsrc = randomInt(1, 2 ** 31);
      const video = await vt.produce({ kind: 'video', rtpParameters: ingestRtpParameters('video', o.capture.videoCodec, vSsrc, cname), info });
      const audio = await at.produce({ kind: 'audio', rtpParameters: ingestRtpParameters('audio', o.capture.videoCodec, aSsrc, cname), info });
      const args = ingestArgs(
        o.capture,
        o.siteId,
        { ip: vt.tuple.ip, port: vt.tuple.port, rtcpPort: vt.rtcpPort ?? vt.tuple.port + 1, ssrc: vSsrc },
        // RTP through the relay; RTCP straight to the transport.
        { ip: '127.0.0.1', port: relay.port, rtcpPort: at.rtcpPort ?? at.tuple.port + 1, ssrc: aSsrc },
      );
      const ffmpeg = new FfmpegProcess({
        bin: o.ffmpegBin, args, log: o.log, label: `ingest ${o.siteId}`,
        onFd3Line: (line) => {
          const db = parseLevelLine(line);
          if (db !== null) levels.setLevel(db);
        },
      });
      o.log.info({ siteId: o.siteId, video: video.id, audio: audio.id, hardware: o.capture.hardware }, 'local ingest started');
      return new LocalIngest(video, audio, [vt, at], relay, ffmpeg);
    } catch (err) {
      relay?.close();
      vt.close();
      at.close();
      throw err;
    }
  }

  get streams(): Stream[] { return [this.video, this.audio]; }

  /** Chair controls act here: a muted room's microphone is paused at its source edge. */
  async setMicOpen(open: boolean): Promise<void> {
    if (this.closed) return;
    if (open) await this.audio.resume();
    else await this.audio.pause();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ffmpeg.close();
    this.relay.close();
    for (const t of this.transports) t.close();
  }
}
