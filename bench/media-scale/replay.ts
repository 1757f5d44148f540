// Pre-encoded RTP replayed into every room instead of live encoders, so the
// machine measures the relays: one short VP8 clip that ffmpeg encodes once
// (160x120, 15 fps, ~80 kbit/s), sent by this process with each site's SSRC
// from its own offset, and 20 ms Opus-sized microphone packets carrying the
// audio level extension the real ingest writes (rtp/level-relay.ts), so the
// core's ActiveSpeakerObserver hears whom the bench makes loud.
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import { INGEST } from '../../appliance/src/media/adapter/index.js';
import { audioLevelByte, withAudioLevel } from '../../appliance/src/media/rtp/audio-level.js';

export interface ClipPacket {
  at: number;
  packet: Buffer;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** VP8 RTP packets of a 4 s clip, as ffmpeg sends them, with their offsets in ms. */
export async function recordClip(): Promise<ClipPacket[]> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const packets: Buffer[] = [];
  sock.on('message', (m) => packets.push(Buffer.from(m)));
  const ff = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=160x120:rate=15',
      '-t',
      '4',
      '-c:v',
      'libvpx',
      '-b:v',
      '100k',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-g',
      '30',
      '-an',
      '-f',
      'rtp',
      '-payload_type',
      String(INGEST.vp8.payloadType),
      `rtp://127.0.0.1:${sock.address().port}?pkt_size=1200`,
    ],
    { stdio: 'ignore' },
  );
  await new Promise((r) => ff.on('exit', r));
  await sleep(200);
  sock.close();
  if (packets.length === 0) throw new Error('ffmpeg produced no RTP');
  const ts0 = packets[0]!.readUInt32BE(4);
  return packets.map((p) => ({
    at: ((p.readUInt32BE(4) - ts0) >>> 0) / 90,
    packet: p,
  }));
}

export interface Feed {
  siteId: string;
  port: number;
  ssrcA: number;
  ssrcV: number;
  /** Where in the clip this site starts, in ms. */
  offset: number;
}

const SILENT = audioLevelByte(-Infinity);
/**
 * A talker's level for the 20 ms frame `n`: syllables of varying loudness with
 * short pauses. The dominant-speaker detector learns each microphone's noise
 * floor, so a constant level would soon read as noise, not speech.
 */
function voice(n: number): number {
  const phase = n % 15;
  return phase >= 12 ? audioLevelByte(-70) : audioLevelByte(-10 - ((n * 7919) % 23));
}

/** Sends every feed's camera and microphone on a 20 ms tick from one socket (the rooms' inputs accept their first sender only). */
export class Replayer {
  sent = 0;
  /** The site whose microphone carries a voice level; every other one is silent. */
  loud: string | null = null;
  private readonly sock = dgram.createSocket('udp4');
  private readonly timer: NodeJS.Timeout;
  private readonly clipMs: number;
  private readonly started = performance.now();
  private readonly state: Array<{ feed: Feed; cursor: number; vseq: number }> = [];
  private closed = false;

  constructor(
    feeds: Feed[],
    private readonly clip: ClipPacket[],
  ) {
    this.clipMs = clip[clip.length - 1]!.at + 67;
    for (const f of feeds) this.add(f);
    let seq = 0;
    this.timer = setInterval(() => {
      const now = performance.now() - this.started;
      // The microphones keep their 50 packets a second when this process's ticks come late (a loaded
      // machine): the frames due since the last tick go out now, at most 5 (100 ms) at once.
      const due = Math.floor(now / 20);
      const frames = Math.min(5, due - seq);
      seq = Math.max(seq, due - 5);
      for (let i = 0; i < frames; i++) this.tick(++seq, now);
    }, 20);
  }

  /** One 20 ms frame: every microphone's packet, and the camera packets due by `now`. */
  private tick(seq: number, now: number): void {
    for (const st of this.state) {
      const f = st.feed;
      const a = Buffer.alloc(12 + 80);
      a[0] = 0x80;
      a[1] = INGEST.opus.payloadType;
      a.writeUInt16BE(seq & 0xffff, 2);
      a.writeUInt32BE((seq * 960) >>> 0, 4);
      a.writeUInt32BE(f.ssrcA, 8);
      this.sock.send(
        withAudioLevel(a, INGEST.audioLevelExtId, f.siteId === this.loud ? voice(seq) : SILENT)!,
        f.port,
        '127.0.0.1',
      );
      this.sent++;
      const pos = now + f.offset;
      for (;;) {
        const loop = Math.floor(st.cursor / this.clip.length);
        const c = this.clip[st.cursor % this.clip.length]!;
        if (loop * this.clipMs + c.at > pos) break;
        const p = Buffer.from(c.packet);
        p.writeUInt16BE(st.vseq & 0xffff, 2);
        p.writeUInt32BE(((loop * this.clipMs + c.at) * 90) >>> 0, 4);
        p.writeUInt32BE(f.ssrcV, 8);
        this.sock.send(p, f.port, '127.0.0.1');
        st.vseq++;
        st.cursor++;
        this.sent++;
      }
    }
  }

  /** One more room; it starts at its own offset in the clip (no burst of the clip's first part). */
  add(feed: Feed): void {
    const pos = performance.now() - this.started + feed.offset;
    const loops = Math.floor(pos / this.clipMs);
    const k = this.clip.findIndex((c) => c.at >= pos - loops * this.clipMs);
    this.state.push({
      feed,
      cursor: loops * this.clip.length + (k < 0 ? this.clip.length : k),
      vseq: 0,
    });
  }

  get clipKbps(): number {
    return Math.round((this.clip.reduce((n, c) => n + c.packet.length, 0) * 8) / this.clipMs);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.sock.close();
  }
}
