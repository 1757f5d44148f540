import { telemetryCodec, type Telemetry } from '@diemcau/shared';
import type { SeqStore } from './seq-store.js';
import type { TelemetryCollector } from './types.js';

// Every interval: take a sample, number it, hand it to publishDurable(). A slow
// collector never stacks samples: the next tick is scheduled after this one ends.

export interface SamplerLog {
  warn(obj: object, msg?: string): void;
}

export interface SamplerOptions {
  intervalMs: number;
  /** Delay before the first sample; the simulator spreads 10,000 agents with it. */
  firstDelayMs?: number;
  collector: TelemetryCollector;
  seq: SeqStore;
  publish: (payload: string) => Promise<void>;
  log: SamplerLog;
  now?: () => Date;
}

export class TelemetrySampler {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private running: Promise<unknown> | undefined;
  failures = 0;

  constructor(private readonly opts: SamplerOptions) {}

  start(): void {
    if (this.timer || this.closed) return;
    this.schedule(this.opts.firstDelayMs ?? 0);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.running = this.sampleOnce().finally(() => {
        this.running = undefined;
        if (!this.closed) this.schedule(this.opts.intervalMs);
      });
    }, ms);
    this.timer.unref?.();
  }

  /** A new interval (set-config from the fleet), from the next tick; a pending long wait is cut short. */
  setIntervalMs(ms: number): void {
    if (ms === this.opts.intervalMs) return;
    this.opts.intervalMs = ms;
    if (this.timer && !this.running && !this.closed) {
      clearTimeout(this.timer);
      this.schedule(ms);
    }
  }

  /** One sample, now. Exposed for tests; errors are logged, never thrown. */
  async sampleOnce(): Promise<Telemetry | undefined> {
    try {
      const host = await this.opts.collector.collect();
      const seq = await this.opts.seq.next();
      const sample: Telemetry = { v: 1, seq, at: (this.opts.now?.() ?? new Date()).toISOString(), ...host };
      const checked = telemetryCodec.check(sample);
      if (!checked.ok) throw checked.error;
      await this.opts.publish(telemetryCodec.encode(sample));
      return sample;
    } catch (err) {
      this.failures++;
      this.opts.log.warn({ err: { message: (err as Error).message } }, 'telemetry sample failed');
      return undefined;
    }
  }

  /** Stops sampling; the sequence store writes where it stands. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    // Not fatal: the next start takes its number from the queue, or skips to the stored bound.
    await this.opts.seq.close().catch((err: unknown) => {
      this.opts.log.warn({ err: { message: (err as Error).message } }, 'telemetry sequence not saved at close');
    });
  }
}
