// The fleet names, for each downstream edge in an upstream's plan, the sites
// whose streams may come up through it: its subtree in the meeting's cascade.
// The upstream edge refuses a stream announced under any other site id
// (appliance/src/media/link/admission.ts admitSite), so these lists are what
// keeps a commune's box from posing as the chair. Checked against a walk up
// the cascade from each participant (not the planner's downstream lists).
import t, { type Test } from 'tap';
import { mediaPlanCodec, type MediaPlan } from '@diemcau/shared';
import { planCascade, type CascadePlan } from '../../src/meetings/cascade.js';
import {
  linkTokens,
  mediaPlans,
  sitesBelow,
  type MediaDirectory,
  type PlannedMeeting,
} from '../../src/meetings/media-planner.js';
import { CORE, edgesFor, province } from './builders.js';

const p = province();
const dir: MediaDirectory = {
  signalUrlOf: (edgeId) => `http://${edgeId}.example:4443`,
  tokenFor: linkTokens('test-secret-test-secret'),
};

const planned = (id: string, chair: string, siteIds: readonly string[], edges = edgesFor(p.sites)): PlannedMeeting => ({
  meetingId: id,
  title: id,
  state: 'live',
  chairSiteId: chair,
  floorSiteId: null,
  rollCallSiteId: null,
  mutedAll: false,
  plan: planCascade(p.index, edges, { id, chairSiteId: chair, siteIds }),
});

/** Expected: for each edge, the reachable participants whose path up to the host passes through it. */
function expectedBelow(plan: CascadePlan): Map<string, string[]> {
  const up = new Map(plan.entries.map((e) => [e.edgeId, e.upstreamEdgeId]));
  const out = new Map<string, Set<string>>(plan.entries.map((e) => [e.edgeId, new Set()]));
  for (const e of plan.entries) {
    if (e.localSiteId === null) continue;
    let at: string | null = e.edgeId;
    for (let hops = 0; at !== null && hops <= plan.entries.length; hops++) {
      out.get(at)!.add(e.localSiteId);
      at = up.get(at) ?? null;
    }
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

/** Every (upstream, downstream) pair of every plan must carry exactly the expected list. */
function checkPlans(t: Test, m: PlannedMeeting, plans: Map<string, Omit<MediaPlan, 'revision'>>): void {
  const want = expectedBelow(m.plan);
  let pairs = 0;
  let wrong = 0;
  for (const entry of m.plan.entries) {
    const meeting = plans.get(entry.edgeId)?.meetings.find((x) => x.meetingId === m.meetingId);
    if (!meeting) {
      wrong += 1;
      continue;
    }
    const named = meeting.downstream ?? [];
    if (named.length !== entry.downstreamEdgeIds.length) wrong += 1;
    const seen = new Set<string>();
    for (const d of named) {
      pairs += 1;
      if (JSON.stringify(d.siteIds) !== JSON.stringify(want.get(d.edgeId))) wrong += 1;
      // One upstream's lists never overlap: a site comes up one way only.
      for (const s of d.siteIds ?? []) {
        if (seen.has(s)) wrong += 1;
        seen.add(s);
      }
      if (d.siteIds?.includes(meeting.localSiteId ?? '')) wrong += 1;
    }
  }
  t.equal(wrong, 0, `${m.meetingId}: ${pairs} downstream lists, each exactly its subtree's participants`);
}

t.test("a commune's edge may bring in only its own site; the chair comes up its own path", async (t) => {
  const a = p.communesOf.get('huyen-1')![0]!;
  const b = p.communesOf.get('huyen-1')![1]!;
  const c = p.communesOf.get('huyen-2')![0]!;
  const m = planned('m1', 'so-1', [a, b, c, 'huyen-1']);
  const { plans } = mediaPlans([m], dir);
  const core = plans.get(CORE)!.meetings[0]!;
  t.same(
    core.downstream!.map((d) => [d.edgeId, d.siteIds]),
    [
      ['e-huyen-1', [a, b, 'huyen-1'].sort()],
      ['e-huyen-2', [c]],
      ['e-so-1', ['so-1']],
    ],
    "the core admits the chair only from the chair's edge, and a district's communes only from that district",
  );
  const district = plans.get('e-huyen-1')!.meetings[0]!;
  t.same(
    district.downstream!.map((d) => [d.edgeId, d.siteIds]),
    [
      [`e-${a}`, [a]],
      [`e-${b}`, [b]],
    ].sort(),
    'each commune only itself',
  );
  t.same(
    plans.get('e-huyen-2')!.meetings[0]!.downstream!.map((d) => d.siteIds),
    [[c]],
    'a relay that is not a participant brings in its communes only',
  );
  for (const [edgeId, body] of plans)
    t.ok(mediaPlanCodec.check({ ...body, revision: 1 }).ok, `${edgeId} plan matches the schema`);
  checkPlans(t, m, plans);
});

t.test('sites with no edge are in no list; a commune whose district has no box comes up on its own', async (t) => {
  const a = p.communesOf.get('huyen-2')![0]!;
  const b = p.communesOf.get('huyen-3')![0]!;
  const edges = edgesFor(p.sites, ['huyen-2', b]);
  const m = planned('m2', 'so-1', [a, b], edges);
  t.same(m.plan.unreachableSiteIds, [b]);
  const { plans } = mediaPlans([m], dir);
  const lists = plans.get(CORE)!.meetings[0]!.downstream!.map((d) => [d.edgeId, d.siteIds]);
  t.same(
    lists,
    [
      [`e-${a}`, [a]],
      ['e-so-1', ['so-1']],
    ],
    'the commune links to the core itself; the unreachable one is named nowhere',
  );
  checkPlans(t, m, plans);
});

t.test('random meetings: every list is exactly its subtree (seeded)', async (t) => {
  // mulberry32: a small seeded generator, so a failure can be replayed.
  let seed = 0x5eed1234;
  const rnd = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const ids = p.sites.map((s) => s.id);
  const meetings: PlannedMeeting[] = [];
  for (let i = 0; i < 200; i++) {
    const n = 1 + Math.floor(rnd() * 40);
    const chosen = Array.from({ length: n }, () => ids[Math.floor(rnd() * ids.length)]!);
    const without = ids.filter(() => rnd() < 0.1);
    meetings.push(planned(`r${i}`, chosen[0]!, chosen, edgesFor(p.sites, without)));
  }
  // One at a time: the core would hold more meetings than one plan may carry.
  for (const m of meetings) checkPlans(t, m, mediaPlans([m], dir).plans);
  // The walk is independent of the planner's entry order.
  const m = meetings[0]!;
  const reversed: CascadePlan = { ...m.plan, entries: [...m.plan.entries].reverse() };
  t.same(sitesBelow(reversed), sitesBelow(m.plan), 'same lists whatever the entry order');
});

t.test('a plan from a fleet older than the lists still parses (the edge then admits nothing from below)', async (t) => {
  const m = planned('m3', 'so-1', [p.communesOf.get('huyen-1')![0]!]);
  const body = mediaPlans([m], dir).plans.get(CORE)!;
  const old = {
    ...body,
    revision: 1,
    meetings: body.meetings.map((x) => ({ ...x, downstream: x.downstream!.map(({ siteIds: _drop, ...d }) => d) })),
  };
  t.ok(mediaPlanCodec.check(old).ok, 'siteIds is optional in the schema');
});

t.test("size: the core's plan for a province-wide meeting", async (t) => {
  const all = planned(
    'm-all',
    'tinh-uy',
    p.sites.map((s) => s.id),
  );
  const body = mediaPlans([all], dir).plans.get(CORE)!;
  const withLists = Buffer.byteLength(mediaPlanCodec.encode({ ...body, revision: 1 }));
  const bare = {
    ...body,
    revision: 1,
    meetings: body.meetings.map((x) => ({ ...x, downstream: x.downstream!.map(({ siteIds: _drop, ...d }) => d) })),
  };
  const without = Buffer.byteLength(JSON.stringify(bare));
  t.comment(
    `core plan, ${p.sites.length} sites in one meeting: ${withLists} bytes with site lists, ${without} without (+${withLists - without})`,
  );
  t.ok(withLists < 256 * 1024, "well under the protocol's payload limit");
});
