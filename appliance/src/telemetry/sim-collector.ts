import type { HostSample, TelemetryCollector } from './types.js';

// Plausible metrics for a simulated box, from a small seeded random walk: no
// system calls, so 10,000 of them in one process cost a few microseconds a
// sample. Seeded by the device's name so a given simulated box looks the same
// from run to run.

const GiB = 1024 ** 3;

export class SimulatedCollector implements TelemetryCollector {
  private state: number;
  private load = 20;
  private memUsed = 2.5 * GiB;
  private readonly startedAt = Date.now();
  private readonly bootUptimeSec: number;

  constructor(seed: string) {
    let h = 2166136261;
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
    this.state = h >>> 0 || 1;
    this.bootUptimeSec = Math.floor(this.random() * 86_400);
  }

  /** xorshift32: cheap and deterministic. */
  private random(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x1_0000_0000;
  }

  async collect(): Promise<HostSample> {
    this.load = Math.min(100, Math.max(1, this.load + (this.random() - 0.5) * 10));
    this.memUsed = Math.min(7 * GiB, Math.max(1 * GiB, this.memUsed + (this.random() - 0.5) * 0.1 * GiB));
    return {
      cpu: { loadPercent: Math.round(this.load * 10) / 10, temperatureC: Math.round((40 + this.load / 4) * 10) / 10 },
      memory: { usedBytes: Math.round(this.memUsed), totalBytes: 8 * GiB },
      disk: { usedBytes: 31 * GiB + Math.round(this.random() * GiB), totalBytes: 128 * GiB },
      network: {
        rxBytesPerSec: Math.round(this.random() * 200_000),
        txBytesPerSec: Math.round(this.random() * 150_000),
      },
      uptimeSec: this.bootUptimeSec + Math.floor((Date.now() - this.startedAt) / 1000),
    };
  }
}
