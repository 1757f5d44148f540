// Who checks when: the readiness probes of one meeting, staggered so that the
// sites sharing an upstream edge never load its link beyond the budget. Pure.
//
// Budget: towards one upstream edge at most `probesPerUpstream` probes run at
// once, each `probeRateKbps` each way for `probeMs`; slots towards the same
// edge follow each other with `slotGapMs` between them. A commune probes its
// relay hub's edge and the hub probes the core, so each link of the cascade
// carries at most its own upstream's share. 210 sites all on the core with the
// defaults: 105 slots of 5 s, the last one starting 8 min 40 s after the first,
// and the core's link never carries more than 6 Mbit/s of probes each way.
import type { ProbeTarget } from '@diemcau/shared';
import type { ReadinessConfig } from './config.js';

/** A participant as the cascade plan places it. */
export interface SitePath {
  siteId: string;
  /** The site's box; null when none is installed (the site reads red). */
  deviceId: string | null;
  /** The edge the site's edge will link to, its probe address and the meeting's token there; null for the host. */
  upstream: { edgeId: string; host: string; port: number; token: string } | null;
}

export interface Slot {
  siteId: string;
  deviceId: string;
  runAt: number;
  probe: ProbeTarget | null;
}

type Budget = Pick<
  ReadinessConfig,
  'probesPerUpstream' | 'probeMs' | 'slotGapMs' | 'probeRateKbps' | 'probePacketBytes'
>;

/** One slot per site with a box; sites grouped by upstream edge, in site order within a group. */
export function planSlots(paths: readonly SitePath[], startAt: number, cfg: Budget): Slot[] {
  const slots: Slot[] = [];
  const groups = new Map<string, SitePath[]>();
  for (const p of [...paths].sort((a, b) => (a.siteId < b.siteId ? -1 : a.siteId > b.siteId ? 1 : 0))) {
    if (p.deviceId === null) continue;
    // The host has no link up to test: only its room, at once.
    if (p.upstream === null) {
      slots.push({ siteId: p.siteId, deviceId: p.deviceId, runAt: startAt, probe: null });
      continue;
    }
    const g = groups.get(p.upstream.edgeId) ?? [];
    g.push(p);
    groups.set(p.upstream.edgeId, g);
  }
  const step = cfg.probeMs + cfg.slotGapMs;
  for (const group of groups.values()) {
    group.forEach((p, i) => {
      const up = p.upstream!;
      slots.push({
        siteId: p.siteId,
        deviceId: p.deviceId!,
        runAt: startAt + Math.floor(i / cfg.probesPerUpstream) * step,
        probe: {
          edgeId: up.edgeId,
          host: up.host,
          port: up.port,
          token: up.token,
          rateKbps: cfg.probeRateKbps,
          durationMs: cfg.probeMs,
          packetBytes: cfg.probePacketBytes,
        },
      });
    });
  }
  return slots;
}

/** The most probes that run at once towards any one edge (what a test checks the plan against). */
export function peakConcurrency(slots: readonly Slot[], probeMs: number): number {
  let peak = 0;
  const byEdge = new Map<string, number[]>();
  for (const s of slots) if (s.probe) byEdge.set(s.probe.edgeId, [...(byEdge.get(s.probe.edgeId) ?? []), s.runAt]);
  for (const starts of byEdge.values()) {
    for (const t of starts) {
      const overlapping = starts.filter((u) => u <= t && t < u + probeMs).length;
      peak = Math.max(peak, overlapping);
    }
  }
  return peak;
}

/** The probe address from a signalling URL: UDP on the same port number as its HTTP(S). */
export function probeAddress(signalUrl: string): { host: string; port: number } | null {
  try {
    const u = new URL(signalUrl);
    const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    return host === '' ? null : { host, port };
  } catch {
    return null;
  }
}
