// What happened when, in a scale bench: many edges' Node side shares each
// bench process, so a stall of one event loop (the process starved of CPU by
// the machine, or busy with its own work) shows up as link timeouts at all its
// edges at once. The timeline records, per second: the longest event-loop
// stall, this process's CPU, and the edges' warnings by message (links that
// went down, link offers that failed), so a figure can say whether it was
// bound by the product or by this machine. Seconds count from a wall-clock
// start the bench's processes share (wallNow()), so their timelines line up.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** Milliseconds on a clock every process of the machine shares, with performance.now()'s resolution. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

export interface Second {
  /** Longest gap between two 50 ms ticks, minus the 50 ms. */
  stallMs: number;
  cpuMs: number;
  warnings: Map<string, number>;
}

export class Timeline {
  readonly log: Logger;
  private readonly t0: number;
  private readonly seconds = new Map<number, Second>();
  private readonly ticker: NodeJS.Timeout;
  private lastTick = performance.now();
  private lastCpu = process.cpuUsage();

  /** `echo`: a pino level at which the edges' logs also go to stderr ('silent': counted only). */
  constructor(echo: string, t0 = wallNow()) {
    this.t0 = t0 - performance.timeOrigin;
    const count = (msg: string): void => this.count(msg);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line) continue;
          try {
            const rec = JSON.parse(line) as { level: number; msg?: string };
            if (rec.level >= 40) count(rec.msg ?? '?');
          } catch {
            // not a log line
          }
        }
        if (echo !== 'silent') process.stderr.write(chunk);
        done();
      },
    });
    // Warnings are always counted; more is written only when asked for.
    const level = echo === 'silent' ? 'warn' : echo;
    this.log = pino({ level }, sink);
    this.ticker = setInterval(() => {
      const now = performance.now();
      const cpu = process.cpuUsage(this.lastCpu);
      const s = this.second(now);
      s.stallMs = Math.max(s.stallMs, now - this.lastTick - 50);
      s.cpuMs += (cpu.user + cpu.system) / 1000;
      this.lastTick = now;
      this.lastCpu = process.cpuUsage();
    }, 50);
    this.ticker.unref();
  }

  private second(now = performance.now()): Second {
    const k = Math.floor((now - this.t0) / 1000);
    let s = this.seconds.get(k);
    if (!s) {
      s = { stallMs: 0, cpuMs: 0, warnings: new Map() };
      this.seconds.set(k, s);
    }
    return s;
  }

  private count(msg: string): void {
    const s = this.second();
    s.warnings.set(msg, (s.warnings.get(msg) ?? 0) + 1);
  }

  /** Every second so far, as plain data (for the bench's main process to merge; see printHosts). */
  snapshot(): Array<[number, { stallMs: number; cpuMs: number; warnings: Array<[string, number]> }]> {
    return [...this.seconds].map(([k, s]) => [k, { stallMs: s.stallMs, cpuMs: s.cpuMs, warnings: [...s.warnings] }]);
  }

  close(): void {
    clearInterval(this.ticker);
  }
}

export type Snapshot = ReturnType<Timeline['snapshot']>;

/**
 * One line per `stepS` seconds for several processes' timelines: each one's
 * longest stall and CPU (% of one core), the warnings summed, with the
 * milestones (seconds since the shared start) between them.
 */
export function printHosts(marks: Array<{ at: number; what: string }>, hosts: Snapshot[], stepS = 5): void {
  const maps = hosts.map((h) => new Map(h));
  const last = Math.max(0, ...hosts.flatMap((h) => h.map(([k]) => k)));
  console.log(
    `\ntimeline (every ${stepS} s, per bench process: longest event-loop stall / CPU % of one core; the edges' warnings)`,
  );
  let m = 0;
  for (let k = 0; k <= last; k += stepS) {
    while (m < marks.length && marks[m]!.at < k + stepS) {
      console.log(`  ${marks[m]!.at.toFixed(1)} s: ${marks[m]!.what}`);
      m++;
    }
    const warn = new Map<string, number>();
    const cols = maps.map((map) => {
      let stall = 0;
      let cpu = 0;
      for (let j = k; j < k + stepS; j++) {
        const s = map.get(j);
        if (!s) continue;
        stall = Math.max(stall, s.stallMs);
        cpu += s.cpuMs;
        for (const [w, n] of s.warnings) warn.set(w, (warn.get(w) ?? 0) + n);
      }
      return `${String(Math.round(stall)).padStart(5)} ms/${String(Math.round(cpu / stepS / 10)).padStart(3)} %`;
    });
    const ws = [...warn].map(([w, n]) => `${w} ×${n}`).join(', ');
    console.log(`  ${String(k).padStart(4)} s  ${cols.join('  ')}  ${ws}`);
  }
}
