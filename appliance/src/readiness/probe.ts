// The box's side of the readiness probe: a paced burst of UDP packets to the
// upstream edge's probe echo (media/probe-responder.ts), and what came back.
// Pacing: every 5 ms the sender catches up to rate × elapsed, so the burst
// never sends faster than asked, even after a stall (it then sends fewer).
// Bounded: at most MAX_PACKETS per probe, and it always ends after the burst
// plus the wait for stragglers.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { PROBE_MAGIC, probeHeaderBytes, type ProbeResult, type ProbeTarget } from '@diemcau/shared';

const TICK_MS = 5;
const MAX_PACKETS = 100_000;

export interface ProbeOptions {
  /** How long to wait for echoes after the last packet (default 1 s). */
  waitMs?: number;
}

/** Builds one packet: magic, token, sequence, send time, padding up to `bytes`. */
export function probePacket(token: string, seq: number, sentUs: number, bytes: number): Buffer {
  const tok = Buffer.from(token, 'utf8');
  const buf = Buffer.alloc(Math.max(bytes, probeHeaderBytes(token)));
  buf.write(PROBE_MAGIC, 0, 'ascii');
  buf[4] = tok.length;
  tok.copy(buf, 5);
  buf.writeUInt32BE(seq, 5 + tok.length);
  buf.writeDoubleBE(sentUs, 9 + tok.length);
  return buf;
}

const quantile = (sorted: readonly number[], q: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Never throws: a probe that cannot run at all reports `error` with nothing received. */
export async function runProbe(target: ProbeTarget, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const waitMs = opts.waitMs ?? 1000;
  const tokenLen = Buffer.byteLength(target.token);
  const size = Math.max(target.packetBytes, probeHeaderBytes(target.token));
  const pps = (target.rateKbps * 1000) / (size * 8);
  const total = Math.min(MAX_PACKETS, Math.max(1, Math.round((pps * target.durationMs) / 1000)));
  const seen = new Set<number>();
  const rtts: number[] = [];
  let receivedBytes = 0;
  let error: string | undefined;
  let sent = 0;

  const socket = dgram.createSocket({ type: isIPv6(target.host) ? 'udp6' : 'udp4' });
  socket.on('message', (msg) => {
    if (msg.length < 9 + 5 + tokenLen) return;
    const seq = msg.readUInt32BE(5 + tokenLen);
    if (seq >= total || seen.has(seq)) return;
    seen.add(seq);
    receivedBytes += msg.length;
    rtts.push(performance.now() - msg.readDoubleBE(9 + tokenLen) / 1000);
  });
  // ICMP unreachable on a connected socket arrives here; the burst goes on.
  socket.on('error', (err) => {
    error ??= err.message;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(target.port, target.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const start = performance.now();
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / target.durationMs) * total) + 1);
      while (sent < due) {
        socket.send(probePacket(target.token, sent, performance.now() * 1000, size));
        sent += 1;
      }
      await sleep(TICK_MS);
    }
    await sleep(waitMs);
  } catch (err) {
    error = (err as Error).message;
  } finally {
    socket.close();
  }
  rtts.sort((a, b) => a - b);
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    edgeId: target.edgeId,
    sent,
    received: seen.size,
    lossRate: sent === 0 ? 1 : 1 - seen.size / sent,
    rttMsP50: round(quantile(rtts, 0.5)),
    rttMsP95: round(quantile(rtts, 0.95)),
    throughputKbps: Math.round((receivedBytes * 8) / target.durationMs),
    rateKbps: target.rateKbps,
    durationMs: target.durationMs,
    ...(error !== undefined && seen.size === 0 ? { error: error.slice(0, 300) } : {}),
  };
}
