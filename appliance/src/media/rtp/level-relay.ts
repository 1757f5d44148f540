// A UDP hop on 127.0.0.1 between ffmpeg and the edge's plain transport for the
// room's microphone: each packet leaves with the latest measured level in its
// header (audio-level.ts). Fifty packets a second; anything that is not RTP is
// dropped and counted.
import type dgram from 'node:dgram';
import { bindLocal } from './udp.js';
import type { Logger } from 'pino';
import { audioLevelByte, withAudioLevel } from './audio-level.js';

export class LevelRelay {
  private level = audioLevelByte(-Infinity);
  /** Packets that were not RTP, dropped. */
  dropped = 0;
  forwarded = 0;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly target: { ip: string; port: number },
    private readonly extId: number,
    private readonly log: Logger,
  ) {
    socket.on('message', (msg) => this.forward(msg));
    // A send error (the transport closed first) must not end the process.
    socket.on('error', (err) => log.warn({ err }, 'audio level relay socket error'));
  }

  static async open(target: { ip: string; port: number }, extId: number, log: Logger): Promise<LevelRelay> {
    return new LevelRelay(await bindLocal(), target, extId, log);
  }

  /** Where ffmpeg sends the microphone's RTP. */
  get port(): number {
    return this.socket.address().port;
  }

  /** The room's latest level, in dBFS. */
  setLevel(dbfs: number): void {
    this.level = audioLevelByte(dbfs);
  }

  private forward(msg: Buffer): void {
    const out = withAudioLevel(msg, this.extId, this.level);
    if (!out) {
      if (this.dropped++ === 0)
        this.log.warn({ bytes: msg.length }, 'audio level relay dropped a packet that is not RTP');
      return;
    }
    this.forwarded++;
    this.socket.send(out, this.target.port, this.target.ip);
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      /* already closed */
    }
  }
}
