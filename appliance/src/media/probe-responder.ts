// The edge's side of the readiness probe: a UDP echo on the port number of its
// signalling API. A box about to take part in a meeting sends a paced burst
// here and measures what comes back (loss, round trip, what the path carried).
//
// Fail closed and never an amplifier: a packet is echoed only when it carries
// the probe magic and a token this edge accepts for one of its meetings (the
// plan's acceptToken), the reply is the request itself (never bigger), and
// each source address and the edge as a whole have a byte budget per second;
// everything else is dropped and counted by reason.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { PROBE_MAGIC } from '@diemcau/shared';

export interface ProbeResponderOptions {
  host: string;
  port: number;
  /** True for a token of a meeting in the edge's current plan. */
  accepts(token: string): boolean;
  /** Echoed bytes per second for one source address (default: 8 Mbit/s, above one probe's rate). */
  perSourceBytesPerSec?: number;
  /** Echoed bytes per second for the whole edge (default: 40 Mbit/s). */
  totalBytesPerSec?: number;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export type ProbeDropReason = 'malformed' | 'token' | 'source-budget' | 'total-budget';

export interface ProbeResponderCounters {
  echoed: number;
  dropped: Record<ProbeDropReason, number>;
}

const MAGIC = Buffer.from(PROBE_MAGIC, 'ascii');
const MAX_SOURCES = 4096;

/** A budget refilled continuously, at most one second's worth banked. */
class Bucket {
  private level: number;
  private at: number;
  constructor(
    private readonly perSec: number,
    now: number,
  ) {
    this.level = perSec;
    this.at = now;
  }
  take(bytes: number, now: number): boolean {
    this.level = Math.min(this.perSec, this.level + ((now - this.at) / 1000) * this.perSec);
    this.at = now;
    if (this.level < bytes) return false;
    this.level -= bytes;
    return true;
  }
}

/** The token a probe packet carries, or null when it is not a probe packet. */
export function probeToken(msg: Buffer): string | null {
  if (msg.length < MAGIC.length + 1 + 12 || !msg.subarray(0, 4).equals(MAGIC)) return null;
  const len = msg[4]!;
  if (len < 16 || msg.length < 5 + len + 12) return null;
  return msg.toString('utf8', 5, 5 + len);
}

export class ProbeResponder {
  readonly counters: ProbeResponderCounters = {
    echoed: 0,
    dropped: { malformed: 0, token: 0, 'source-budget': 0, 'total-budget': 0 },
  };
  private readonly sources = new Map<string, Bucket>();
  private readonly total: Bucket;
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly o: ProbeResponderOptions,
  ) {
    this.total = new Bucket(o.totalBytesPerSec ?? 5_000_000, Date.now());
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    // A send error (an ICMP unreachable coming back) must not end the echo.
    socket.on('error', (err) => o.log.warn({ err: { message: err.message } }, 'probe responder socket error'));
  }

  static async start(o: ProbeResponderOptions): Promise<ProbeResponder> {
    const socket = dgram.createSocket({ type: isIPv6(o.host) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(o.port, o.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    o.log.info({ host: o.host, port: socket.address().port }, 'probe responder listening (udp)');
    return new ProbeResponder(socket, o);
  }

  get port(): number {
    return this.socket.address().port;
  }

  private drop(reason: ProbeDropReason): void {
    this.counters.dropped[reason] += 1;
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    const token = probeToken(msg);
    if (token === null) return this.drop('malformed');
    if (!this.o.accepts(token)) return this.drop('token');
    const now = Date.now();
    let bucket = this.sources.get(rinfo.address);
    if (!bucket) {
      // Bounded: the oldest source is forgotten (its budget starts full again).
      if (this.sources.size >= MAX_SOURCES) this.sources.delete(this.sources.keys().next().value!);
      bucket = new Bucket(this.o.perSourceBytesPerSec ?? 1_000_000, now);
      this.sources.set(rinfo.address, bucket);
    }
    if (!bucket.take(msg.length, now)) return this.drop('source-budget');
    if (!this.total.take(msg.length, now)) return this.drop('total-budget');
    this.counters.echoed += 1;
    this.socket.send(msg, rinfo.port, rinfo.address);
  }

  /** Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
