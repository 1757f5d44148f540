// The scheduler check: may a meeting be added next to the ones already
// planned? Pure. Two rules:
//  - a site takes part in one meeting at a time (a room has one camera and one
//    TV), so a site in two overlapping meetings is a conflict;
//  - at no instant may an edge carry more meetings or pipe links than its
//    configured capacity (the core's is set much higher than a box's).
// Times are epoch milliseconds; a window is [startsAt, endsAt).
import { linkLoad, type CascadePlan } from './cascade.js';

export interface Capacity {
  maxMeetings: number;
  maxLinks: number;
}

export interface CapacityConfig {
  core: Capacity;
  /** Every site's box. */
  edge: Capacity;
  /** Per edge id, for boxes that are bigger or smaller than the rest. */
  overrides?: Readonly<Record<string, Capacity>>;
}

export interface TimedPlan {
  meetingId: string;
  startsAt: number;
  endsAt: number;
  plan: CascadePlan;
}

export type ScheduleProblem =
  | { kind: 'site-conflict'; siteId: string; meetingId: string }
  | { kind: 'capacity'; edgeId: string; at: number; meetings: number; links: number; limit: Capacity };

const overlaps = (a: { startsAt: number; endsAt: number }, b: { startsAt: number; endsAt: number }): boolean =>
  a.startsAt < b.endsAt && b.startsAt < a.endsAt;

export function capacityOf(config: CapacityConfig, coreEdgeId: string, edgeId: string): Capacity {
  return config.overrides?.[edgeId] ?? (edgeId === coreEdgeId ? config.core : config.edge);
}

/**
 * Problems with adding `candidate` to `existing` (meetings already accepted,
 * ended ones left out by the caller); empty when it fits.
 */
export function checkSchedule(
  existing: readonly TimedPlan[],
  candidate: TimedPlan,
  capacity: CapacityConfig,
  coreEdgeId: string,
): ScheduleProblem[] {
  const problems: ScheduleProblem[] = [];
  const others = existing.filter((m) => m.meetingId !== candidate.meetingId && overlaps(m, candidate));

  const mine = new Set(candidate.plan.siteIds);
  for (const other of others) {
    for (const siteId of other.plan.siteIds) {
      if (mine.has(siteId)) problems.push({ kind: 'site-conflict', siteId, meetingId: other.meetingId });
    }
  }

  // Load changes only when a meeting starts, so the peak inside the
  // candidate's window is at its own start or at the start of one of the
  // overlapping meetings.
  const instants = [candidate.startsAt, ...others.map((m) => m.startsAt).filter((t) => t > candidate.startsAt)];
  const worst = new Map<string, Extract<ScheduleProblem, { kind: 'capacity' }>>();
  for (const at of [...new Set(instants)].sort((a, b) => a - b)) {
    const active = [candidate, ...others.filter((m) => m.startsAt <= at && at < m.endsAt)];
    const load = new Map<string, { meetings: number; links: number }>();
    for (const m of active) {
      for (const entry of m.plan.entries) {
        const l = load.get(entry.edgeId) ?? { meetings: 0, links: 0 };
        l.meetings += 1;
        l.links += linkLoad(entry);
        load.set(entry.edgeId, l);
      }
    }
    // Only edges the candidate touches can be pushed over by it.
    for (const entry of candidate.plan.entries) {
      const l = load.get(entry.edgeId)!;
      const limit = capacityOf(capacity, coreEdgeId, entry.edgeId);
      if ((l.meetings > limit.maxMeetings || l.links > limit.maxLinks) && !worst.has(entry.edgeId)) {
        worst.set(entry.edgeId, { kind: 'capacity', edgeId: entry.edgeId, at, ...l, limit });
      }
    }
  }
  problems.push(...worst.values());
  return problems;
}

/** Human-readable summary for an API error message. */
export function describeProblems(problems: readonly ScheduleProblem[]): string {
  return problems
    .map((p) =>
      p.kind === 'site-conflict'
        ? `site ${p.siteId} is already in meeting ${p.meetingId} at that time`
        : `edge ${p.edgeId} would carry ${p.meetings} meetings / ${p.links} links at ${new Date(p.at).toISOString()} (limit ${p.limit.maxMeetings} / ${p.limit.maxLinks})`,
    )
    .join('; ');
}

export interface MeetingWindow {
  id: string;
  siteIds: readonly string[];
  startsAt: number;
  endsAt: number;
  /** Set once ended by the chair; the window closes then. */
  endedAt: number | null;
}

/**
 * The meeting that makes a site busy: live now or starting within
 * `withinMs`. Reboots and update rollouts refuse such a site. Null when free.
 */
export function busyMeetingForSite<M extends MeetingWindow>(
  meetings: readonly M[],
  siteId: string,
  now: number,
  withinMs: number,
): M | null {
  let best: M | null = null;
  for (const m of meetings) {
    const end = m.endedAt === null ? m.endsAt : Math.min(m.endsAt, m.endedAt);
    if (end <= now || m.startsAt > now + withinMs) continue;
    if (!m.siteIds.includes(siteId)) continue;
    if (best === null || m.startsAt < best.startsAt) best = m;
  }
  return best;
}
