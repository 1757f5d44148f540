// The plan at the seeds' scale (`npm run bench:media:plan`): the fleet's
// cascade planner (fleet/src/meetings/cascade.ts) and the media plans it sends
// (media-planner.ts, one retained MQTT message per edge) for the Yên Bái roster,
// every site with a box: one 210-site meeting, and a busy day of 97 meetings
// (bench/media-scale/meetings.ts). Pure functions, no network: time to plan
// (median of BENCH_RUNS, default 21) and the size of each edge's retained plan.
import os from 'node:os';
import { indexSites, type RelayGroup, type Site } from '@diemcau/shared';
import { planCascade, type CascadePlan } from '../fleet/src/meetings/cascade.js';
import { linkTokens, mediaPlans, type PlannedMeeting } from '../fleet/src/meetings/media-planner.js';
import { loadRoster } from './media-scale/roster.js';
import { busyDay, type DaySpec } from './media-scale/meetings.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 21);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const data = JSON.parse(fs.readFileSync(path.join(root, 'fleet/datasets/yen-bai-2022.json'), 'utf8')) as {
  sites: Site[];
  relayGroups: RelayGroup[];
};
const sites = indexSites(data.sites, data.relayGroups);
const roster = loadRoster();
const edges = { coreEdgeId: 'core', edgeOfSite: new Map(roster.map((s) => [s.id, `edge-${s.id}`])) };
const token = linkTokens('x'.repeat(32));
const dir = { signalUrlOf: (edgeId: string) => `https://${edgeId}.edge.example:8443`, tokenFor: token };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(name: string, specs: DaySpec[]): void {
  const planTimes: number[] = [];
  const msgTimes: number[] = [];
  let plans: CascadePlan[] = [];
  let bodies = new Map<string, unknown>();
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    plans = specs.map((m) => planCascade(sites, edges, { id: m.id, chairSiteId: m.chairSiteId, siteIds: m.siteIds }));
    const t1 = performance.now();
    const planned: PlannedMeeting[] = plans.map((plan, k) => ({
      meetingId: specs[k]!.id,
      title: specs[k]!.id,
      state: 'live',
      chairSiteId: specs[k]!.chairSiteId,
      floorSiteId: null,
      rollCallSiteId: null,
      mutedAll: false,
      plan,
    }));
    bodies = mediaPlans(planned, dir).plans;
    planTimes.push(t1 - t0);
    msgTimes.push(performance.now() - t1);
  }
  const sizes = [...bodies]
    .map(([edgeId, b]) => ({ edgeId, bytes: Buffer.byteLength(JSON.stringify({ ...(b as object), revision: 1 })) }))
    .sort((a, b) => a.bytes - b.bytes);
  const total = sizes.reduce((n, s) => n + s.bytes, 0);
  const core = sizes.find((s) => s.edgeId === 'core');
  const biggest = sizes.at(-1)!;
  const links = plans.reduce((n, p) => n + p.links.length, 0);
  console.log(
    `| ${name} | ${specs.length} | ${plans.reduce((n, p) => n + p.siteIds.length, 0)} | ${links} | ${median(planTimes).toFixed(2)} | ${median(msgTimes).toFixed(2)} | ${sizes.length} | ${((core?.bytes ?? 0) / 1000).toFixed(1)} | ${biggest.edgeId} ${(biggest.bytes / 1000).toFixed(1)} | ${(median(sizes.map((s) => s.bytes)) / 1000).toFixed(1)} | ${(total / 1e6).toFixed(2)} |`,
  );
}

console.log(
  `bench:media:plan: the Yên Bái 2022 roster (${roster.length} sites, each with its edge), median of ${RUNS} runs; load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  "\n| meetings | count | sites | links | plan the cascades ms | build every edge's plan ms | edges with a plan | core's plan kB | largest plan kB | median plan kB | all plans MB |",
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
measure('one meeting of every site', [
  { id: 'plenary', kind: 'plenary', chairSiteId: 'yb-peoples-committee', siteIds: roster.map((s) => s.id) },
]);
const day = busyDay(roster);
measure(
  `a busy day (${day.filter((d) => d.kind === 'plenary').length} plenary, ${day.filter((d) => d.kind === 'province').length} province, ${day.filter((d) => d.kind === 'relay group').length} relay-group)`,
  day,
);
