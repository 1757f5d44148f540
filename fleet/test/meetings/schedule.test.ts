import t from 'tap';
import { planCascade, type MeetingSpec } from '../../src/meetings/cascade.js';
import {
  busyMeetingForSite,
  checkSchedule,
  describeProblems,
  type CapacityConfig,
  type TimedPlan,
} from '../../src/meetings/schedule.js';
import { CORE, edgesFor, province } from './builders.js';

const p = province();
const edges = edgesFor(p.sites);
const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-23T08:00:00Z');
const capacity: CapacityConfig = {
  core: { maxMeetings: 100, maxLinks: 1000 },
  edge: { maxMeetings: 24, maxLinks: 64 },
};

const timed = (spec: MeetingSpec, startsAt = T0, endsAt = T0 + 2 * HOUR): TimedPlan => ({
  meetingId: spec.id,
  startsAt,
  endsAt,
  plan: planCascade(p.index, edges, spec),
});

/** 100 meetings at once with no site in two of them, of every shape the network runs. */
function hundredMeetings(): MeetingSpec[] {
  const out: MeetingSpec[] = [];
  const spare = new Map(p.districts.map((d) => [d, [...p.communesOf.get(d)!]]));
  // Each district briefs four of its communes.
  for (const d of p.districts) out.push({ id: `district-${d}`, chairSiteId: d, siteIds: spare.get(d)!.splice(0, 4) });
  // The province leadership with the boards.
  out.push({ id: 'leaders', chairSiteId: 'tinh-uy', siteIds: [...p.bodies, ...p.boards] });
  // Each department calls one commune (cross-level, through the core).
  p.departments.forEach((dep, i) => {
    const d = p.districts[i % 9]!;
    out.push({ id: `dep-${dep}`, chairSiteId: dep, siteIds: spare.get(d)!.splice(0, 1) });
  });
  // Three communes a district meet alone (hosted at their own box), the rest
  // in pairs inside their district.
  for (const d of p.districts) {
    const rest = spare.get(d)!;
    for (const c of rest.splice(0, 3)) out.push({ id: `alone-${c}`, chairSiteId: c, siteIds: [] });
    while (rest.length > 0 && out.length < 100) {
      const pair = rest.splice(0, 2);
      out.push({ id: `pair-${pair[0]}`, chairSiteId: pair[0]!, siteIds: pair });
    }
  }
  return out;
}

t.test('100 meetings at once plan without conflicts and within capacity', async (t) => {
  const specs = hundredMeetings();
  t.equal(specs.length, 100);
  const accepted: TimedPlan[] = [];
  for (const spec of specs) {
    const m = timed(spec);
    t.same(checkSchedule(accepted, m, capacity, CORE), [], spec.id);
    accepted.push(m);
  }
  const coreMeetings = accepted.filter((m) => m.plan.entries.some((e) => e.edgeId === CORE));
  t.equal(coreMeetings.length, 20, 'only the leaders and the department calls touch the core');
  // The same set again is all conflicts: the check is doing the work above.
  const again = timed({ ...specs[0]!, id: 'again' });
  const problems = checkSchedule(accepted, again, capacity, CORE);
  t.equal(problems.length, again.plan.siteIds.length);
  t.ok(problems.every((x) => x.kind === 'site-conflict' && x.meetingId === specs[0]!.id));
});

t.test('a site in two overlapping meetings is a conflict; back to back is fine', async (t) => {
  const a = timed({ id: 'a', chairSiteId: 'so-1', siteIds: ['so-2'] }, T0, T0 + HOUR);
  const b = timed({ id: 'b', chairSiteId: 'so-2', siteIds: ['so-3'] }, T0 + HOUR / 2, T0 + 2 * HOUR);
  const problems = checkSchedule([a], b, capacity, CORE);
  t.same(problems, [{ kind: 'site-conflict', siteId: 'so-2', meetingId: 'a' }]);
  t.match(describeProblems(problems), /site so-2 is already in meeting a/);
  const later = timed({ id: 'c', chairSiteId: 'so-2', siteIds: ['so-3'] }, T0 + HOUR, T0 + 2 * HOUR);
  t.same(checkSchedule([a], later, capacity, CORE), []);
  t.same(checkSchedule([a], { ...a }, capacity, CORE), [], 'a meeting does not conflict with itself (rescheduling)');
});

t.test('edge capacity is checked at the busiest instant of the window', async (t) => {
  const small: CapacityConfig = { ...capacity, core: { maxMeetings: 2, maxLinks: 100 } };
  const a = timed({ id: 'a', chairSiteId: 'so-1', siteIds: ['so-2'] }, T0, T0 + HOUR);
  const b = timed({ id: 'b', chairSiteId: 'so-3', siteIds: ['so-4'] }, T0 + HOUR, T0 + 2 * HOUR);
  const c = timed({ id: 'c', chairSiteId: 'so-5', siteIds: ['so-6'] }, T0, T0 + 2 * HOUR);
  t.same(checkSchedule([a, b], c, small, CORE), [], 'a and b never overlap, so the core never has more than two');
  const d = timed({ id: 'd', chairSiteId: 'so-7', siteIds: ['so-8'] }, T0 + HOUR / 2, T0 + HOUR + HOUR / 2);
  const problems = checkSchedule([a, b, c], d, small, CORE);
  t.equal(problems.length, 1);
  t.match(problems[0], { kind: 'capacity', edgeId: CORE, meetings: 3, limit: { maxMeetings: 2 } });
  t.match(describeProblems(problems), /edge core would carry 3 meetings/);
});

t.test('a box relaying many meetings hits its link limit; overrides apply per edge', async (t) => {
  const tight: CapacityConfig = { ...capacity, edge: { maxMeetings: 24, maxLinks: 3 } };
  const communes = p.communesOf.get('huyen-1')!;
  const a = timed({ id: 'a', chairSiteId: 'huyen-1', siteIds: communes.slice(0, 2) });
  t.same(checkSchedule([], a, tight, CORE), [], 'two downstream links');
  const b = timed({ id: 'b', chairSiteId: communes[2]!, siteIds: communes.slice(3, 5) });
  t.match(checkSchedule([a], b, tight, CORE), [{ kind: 'capacity', edgeId: 'e-huyen-1', links: 5 }]);
  const roomy: CapacityConfig = { ...tight, overrides: { 'e-huyen-1': { maxMeetings: 4, maxLinks: 10 } } };
  t.same(checkSchedule([a], b, roomy, CORE), []);
});

t.test('a site is busy while in a live meeting or one starting soon', async (t) => {
  const min = 60_000;
  const meetings = [
    { id: 'live', siteIds: ['so-1'], startsAt: T0 - 10 * min, endsAt: T0 + HOUR, endedAt: null },
    { id: 'soon', siteIds: ['so-2'], startsAt: T0 + 20 * min, endsAt: T0 + HOUR, endedAt: null },
    { id: 'done', siteIds: ['so-3'], startsAt: T0 - HOUR, endsAt: T0 + HOUR, endedAt: T0 - min },
    { id: 'past', siteIds: ['so-4'], startsAt: T0 - 2 * HOUR, endsAt: T0 - HOUR, endedAt: null },
  ];
  t.equal(busyMeetingForSite(meetings, 'so-1', T0, 0)?.id, 'live');
  t.equal(busyMeetingForSite(meetings, 'so-2', T0, 10 * min), null, 'starts after the look-ahead');
  t.equal(busyMeetingForSite(meetings, 'so-2', T0, 30 * min)?.id, 'soon');
  t.equal(busyMeetingForSite(meetings, 'so-3', T0, 30 * min), null, 'ended early by the chair');
  t.equal(busyMeetingForSite(meetings, 'so-4', T0, 30 * min), null);
  t.equal(busyMeetingForSite(meetings, 'so-9', T0, 30 * min), null);
});
