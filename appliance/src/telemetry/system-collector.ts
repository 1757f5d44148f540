import path from 'node:path';
import si from 'systeminformation';
import type { HostSample, TelemetryCollector } from './types.js';

// Real host metrics through systeminformation. Network rates are computed here
// from byte counters between two of our own samples (systeminformation's own
// rx_sec is relative to whoever called it last). Temperature is left out where
// the host has no sensor (VMs, many mini-PCs without lm-sensors).

interface NetCounters {
  rx: number;
  tx: number;
  atMs: number;
}

export interface SystemCollectorOptions {
  /** The disk that matters is the one the agent writes to. */
  dataDir: string;
}

export class SystemCollector implements TelemetryCollector {
  private lastNet: NetCounters | undefined;

  constructor(private readonly opts: SystemCollectorOptions) {}

  async collect(): Promise<HostSample> {
    const [load, mem, disks, temp, nets] = await Promise.all([
      si.currentLoad(),
      si.mem(),
      si.fsSize(),
      si.cpuTemperature().catch(() => undefined),
      si.networkStats('*'),
    ]);
    const disk = pickMount(disks, this.opts.dataDir);
    const now: NetCounters = { rx: 0, tx: 0, atMs: Date.now() };
    for (const n of nets) {
      if (n.iface === 'lo') continue;
      now.rx += n.rx_bytes;
      now.tx += n.tx_bytes;
    }
    const prev = this.lastNet;
    this.lastNet = now;
    const secs = prev ? (now.atMs - prev.atMs) / 1000 : 0;
    // Counters reset when an interface goes down and up: report 0 rather than a negative rate.
    const rate = (a: number, b: number): number => (secs > 0 ? Math.max(0, Math.round((a - b) / secs)) : 0);
    const celsius = temp?.main;
    return {
      cpu: {
        loadPercent: clampPercent(load.currentLoad),
        ...(typeof celsius === 'number' && Number.isFinite(celsius) && celsius > -50 ? { temperatureC: celsius } : {}),
      },
      memory: { usedBytes: mem.active, totalBytes: mem.total },
      disk: { usedBytes: disk?.used ?? 0, totalBytes: disk?.size ?? 0 },
      network: { rxBytesPerSec: prev ? rate(now.rx, prev.rx) : 0, txBytesPerSec: prev ? rate(now.tx, prev.tx) : 0 },
      uptimeSec: Math.max(0, Math.round(si.time().uptime)),
    };
  }
}

/** The filesystem with the longest mount point that contains `dir`. */
export function pickMount<T extends { mount: string }>(disks: readonly T[], dir: string): T | undefined {
  const abs = path.resolve(dir);
  let best: T | undefined;
  for (const d of disks) {
    const m = d.mount.endsWith('/') ? d.mount : `${d.mount}/`;
    if ((abs === d.mount || `${abs}/`.startsWith(m)) && (!best || d.mount.length > best.mount.length)) best = d;
  }
  return best ?? disks.find((d) => d.mount === '/');
}

export const clampPercent = (n: number): number =>
  Number.isFinite(n) ? Math.min(100, Math.max(0, Math.round(n * 10) / 10)) : 0;
