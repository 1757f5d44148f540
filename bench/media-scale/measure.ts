// The figures of bench:media:scale, read from the main process across its
// host processes: a window of worker and process CPU (from /proc), RSS,
// producers, consumers, packets in and out and egress per link at the core,
// the largest relay and the farthest commune; and one speaker change timed
// from the core's decision to the new speaker's first packets there.
import fs from 'node:fs';
import os from 'node:os';
import type { Host, Traffic } from './hosts.js';
import type { TopoNode } from './topology.js';
import { wallNow } from './timeline.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Busy and total jiffies of the whole machine (every core), from /proc/stat. */
function machine(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: f.reduce((a, b) => a + b, 0) - idle, total: f.reduce((a, b) => a + b, 0) };
}

export interface Measured {
  hosts: Host[];
  /** Rows of the CPU table: a name and its processes. */
  pids: Map<string, number[]>;
  core: TopoNode;
  largest: TopoNode;
  farthest: TopoNode;
  sites: number;
}

/** CPU, RSS, producers, consumers, packets and egress over one window of `windowMs`. */
export async function window(w: Measured, windowMs: number): Promise<void> {
  const measured = [w.core, w.largest, w.farthest];
  const ids = measured.map((n) => n.edgeId);
  const before = await Promise.all(w.hosts.map((h) => h.call('traffic', { edgeIds: ids, resetLag: true })));
  const cpu0 = new Map([...w.pids.values()].flat().map((pid) => [pid, cpuSeconds(pid)]));
  const m0 = machine();
  await sleep(windowMs);
  const cpu1 = new Map([...cpu0.keys()].map((pid) => [pid, cpuSeconds(pid)]));
  const m1 = machine();
  const after = await Promise.all(w.hosts.map((h) => h.call('traffic', { edgeIds: ids, resetLag: false })));
  const links = await Promise.all(
    w.hosts.map((h) => h.call('links', { edgeIds: ids, allDirections: [w.farthest.edgeId] })),
  );
  const secs = windowMs / 1000;
  const sent = after.reduce((n, a) => n + a.sent, 0) - before.reduce((n, b) => n + b.sent, 0);
  console.log(`replayed into the rooms: ${Math.round(sent / secs)} packets/s; load average ${load()}`);
  console.log('\n| process | pids | CPU % of one core | RSS MB |');
  console.log('|---|---|---|---|');
  let total = 0;
  for (const [name, list] of w.pids) {
    const each = list.map((pid) => ((cpu1.get(pid)! - cpu0.get(pid)!) * 100) / secs);
    const cpu = each.reduce((a, b) => a + b, 0);
    total += cpu;
    const split = list.length > 1 ? ` (${each.map((c) => `${Math.round(c)}%`).join(' + ')})` : '';
    const rss = list.reduce((n, pid) => n + rssMb(pid), 0);
    console.log(`| ${name} | ${list.length} | ${cpu.toFixed(0)}${split} | ${rss.toFixed(0)} |`);
  }
  const cores = os.availableParallelism();
  const busy = ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100 * cores;
  const others = Math.max(0, busy - total);
  console.log(
    `bound by: ${busy > cores * 90 ? `the machine's ${cores} cores` : 'nothing saturated'} (machine busy ${busy.toFixed(0)}% of ${cores * 100}%: this bench ${total.toFixed(0)}%, other work ${others.toFixed(0)}%)`,
  );
  const receiving = links.reduce((n, l) => n + l.receiving, 0);
  const lags = links.map((l, k) => `host ${k} p50 ${l.lag.p50} / p99 ${l.lag.p99} / max ${l.lag.max} ms`).join('; ');
  console.log(`rooms receiving a camera at the end of the window: ${receiving} of ${w.sites}; event loops: ${lags}`);
  console.log(
    '\n| edge | producers | consumers | packets in /s | packets out /s | links | egress kbit/s, sum of links | per link min / median / max kbit/s |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  const find = <T extends { id: string }>(list: Array<{ traffic: T[] }>, id: string): T =>
    list.flatMap((x) => x.traffic).find((t) => t.id === id)!;
  for (const n of measured) {
    const [t0, t1]: Traffic[] = [find(before, n.edgeId), find(after, n.edgeId)];
    const l = (links.find((x) => x.links[n.edgeId])?.links[n.edgeId] ?? []).sort((a, b) => a - b);
    const sum = l.reduce((a, b) => a + b, 0);
    const pick = (q: number): number => Math.round(l[Math.min(l.length - 1, Math.floor(q * l.length))] ?? 0);
    console.log(
      `| ${n.edgeId} | ${t1.producers} | ${t1.consumers} | ${Math.round((t1.packetsIn - t0.packetsIn) / secs)} | ${Math.round((t1.packetsOut - t0.packetsOut) / secs)} | ${l.length} | ${Math.round(sum)} | ${pick(0)} / ${pick(0.5)} / ${pick(1)} |`,
    );
  }
}

export interface Change {
  decided: number;
  audio: number;
  video: number;
}

/**
 * The bench makes `speaker` loud; the core's observer names it (the core's
 * decision, read from the host's room); its microphone and camera are then
 * announced down the cascade on demand: timed until the first packet of each
 * arrives at `farthest`.
 */
export async function speakerChange(
  hosts: Host[],
  core: TopoNode,
  farthest: TopoNode,
  speaker: TopoNode,
  mark: (what: string) => void,
): Promise<Change | null> {
  await Promise.all(hosts.map((h) => h.call('loud', { siteId: speaker.siteId })));
  const tLoud = wallNow();
  mark(`${speaker.siteId} speaks`);
  const [decided, first] = await Promise.all([
    hosts[core.host]!.call('decision', { siteId: speaker.siteId, timeoutMs: 30_000 }),
    hosts[farthest.host]!.call('firstPackets', { edgeId: farthest.edgeId, siteId: speaker.siteId, timeoutMs: 40_000 }),
  ]);
  if (decided === null || first === null) {
    mark(`speaker change to ${speaker.siteId} did not complete`);
    console.log(
      `speaker change to ${speaker.siteId} did not complete: ${decided === null ? 'the core did not name it within 30 s' : `its packets did not reach ${farthest.edgeId} within 40 s`}`,
    );
    return null;
  }
  mark(`the core names ${speaker.siteId}`);
  const ms = (a: number, b: number): string => `${Math.round(b - a)} ms`;
  console.log(
    `speaker change to ${speaker.siteId} (host ${speaker.host}): the core decided ${ms(tLoud, decided)} after the voice began; first packets at ${farthest.edgeId} ${ms(decided, first.audio)} (microphone) / ${ms(decided, first.video)} (camera) after the decision`,
  );
  return { decided: decided - tLoud, audio: first.audio - decided, video: first.video - decided };
}

export function quantiles(changes: Change[], k: keyof Change): string {
  const v = changes.map((c) => c[k]).sort((a, b) => a - b);
  const q = (p: number): number => Math.round(v[Math.min(v.length - 1, Math.floor(p * v.length))] ?? NaN);
  return `p50 ${q(0.5)} ms, p95 ${q(0.95)} ms`;
}
