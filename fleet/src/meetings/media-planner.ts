// From cascade plans to the retained per-edge media plans of shared/media.ts.
// Pure apart from the HMAC, which is deterministic: the same meetings, URLs and
// secret always give the same messages, so the publisher can compare bodies
// and publish only what changed.
import { createHmac } from 'node:crypto';
import {
  MediaPlanSchema,
  type MediaDownstream,
  type MediaMeeting,
  type MediaPlan,
  type MeetingState,
} from '@diemcau/shared';
import type { CascadePlan } from './cascade.js';

export interface PlannedMeeting {
  meetingId: string;
  title: string;
  state: MeetingState;
  chairSiteId: string;
  floorSiteId: string | null;
  /** A browser participant of the floor's site given the floor with it (requests.ts); absent or null: none. */
  floorParticipantId?: string | null;
  rollCallSiteId: string | null;
  mutedAll: boolean;
  plan: CascadePlan;
  /** Revoked, unexpired join links by site (ids): each goes to the edge of its site only. */
  revokedLinks?: ReadonlyMap<string, readonly string[]>;
}

export interface MediaDirectory {
  /** Signalling base URL of an edge, from its presence birth (the core's from config); null when not known yet. */
  signalUrlOf(edgeId: string): string | null;
  /** The secret an upstream edge accepts for one meeting; see linkTokens(). */
  tokenFor(meetingId: string, upstreamEdgeId: string): string;
  /** A site's name for the TVs' captions; absent or undefined: the TVs show ids. */
  siteNameOf?(siteId: string): string | undefined;
}

/** The names of a meeting's sites (those the directory knows). */
function namesOf(siteIds: readonly string[], dir: MediaDirectory): Record<string, string> | undefined {
  if (!dir.siteNameOf) return undefined;
  const out: Record<string, string> = {};
  for (const id of siteIds) {
    const name = dir.siteNameOf(id);
    if (name !== undefined) out[id] = name.slice(0, 200);
  }
  return out;
}

/** The `revokedLinks` of the edge whose room is `siteId`: only when there are some, so other plans stay as they were. */
function revokedAt(m: PlannedMeeting, siteId: string | null): Pick<MediaMeeting, 'revokedLinks'> {
  const ids = siteId === null ? undefined : m.revokedLinks?.get(siteId);
  return ids && ids.length > 0 ? { revokedLinks: [...ids] } : {};
}

/** A plan entry left out because its upstream's address is not known yet. */
export interface WaitingLink {
  meetingId: string;
  edgeId: string;
  upstreamEdgeId: string;
}

export type MediaPlanBody = Omit<MediaPlan, 'revision'>;

/** The protocol's limit on meetings in one edge's plan. */
export const MAX_MEETINGS_PER_PLAN = MediaPlanSchema.properties.meetings.maxItems ?? 100;

/**
 * One token per (meeting, upstream edge): a commune's token opens only its
 * district's edge and only for that meeting, and it dies with the meeting.
 */
export function linkTokens(secret: string): (meetingId: string, upstreamEdgeId: string) => string {
  return (meetingId, upstreamEdgeId) =>
    createHmac('sha256', secret).update(`${meetingId}\n${upstreamEdgeId}`).digest('base64url');
}

/**
 * The downstream edges an upstream accepts links from, each at the host of
 * its announced signalling URL: the upstream refuses link offers from, or
 * sending media to, any other address. An edge that announced no address is
 * left out (its offers are refused and counted by the upstream) until it does.
 */
function namedDownstream(
  edgeIds: readonly string[],
  dir: MediaDirectory,
  sitesBelow: ReadonlyMap<string, readonly string[]>,
): MediaDownstream[] {
  const out: MediaDownstream[] = [];
  for (const edgeId of edgeIds) {
    const url = dir.signalUrlOf(edgeId);
    if (url === null) continue;
    let host: string;
    try {
      host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
    } catch {
      continue;
    }
    if (host !== '') out.push({ edgeId, addresses: [host], siteIds: [...(sitesBelow.get(edgeId) ?? [])] });
  }
  return out;
}

/**
 * For every edge of a cascade, the participating sites at or below it (its
 * subtree), sorted: the only site ids its upstream accepts streams under. The
 * subtrees of one edge's downstreams are disjoint, so a meeting's ids appear
 * at most once in each upstream's plan.
 */
export function sitesBelow(plan: CascadePlan): Map<string, string[]> {
  const byEdge = new Map(plan.entries.map((e) => [e.edgeId, e]));
  const out = new Map<string, string[]>();
  // Iterative post-order walk from the host: no recursion depth to worry about.
  const visit = (root: string): void => {
    const stack: Array<{ edgeId: string; expanded: boolean }> = [{ edgeId: root, expanded: false }];
    while (stack.length > 0) {
      const top = stack.pop()!;
      const entry = byEdge.get(top.edgeId);
      if (!entry || out.has(top.edgeId)) continue;
      if (!top.expanded) {
        stack.push({ edgeId: top.edgeId, expanded: true });
        for (const d of entry.downstreamEdgeIds) stack.push({ edgeId: d, expanded: false });
        continue;
      }
      const ids = new Set<string>(entry.localSiteId === null ? [] : [entry.localSiteId]);
      for (const d of entry.downstreamEdgeIds) for (const id of out.get(d) ?? []) ids.add(id);
      out.set(top.edgeId, [...ids].sort());
    }
  };
  visit(plan.hostEdgeId);
  // Entries not reached from the host (a malformed plan) still get their own subtree.
  for (const e of plan.entries) visit(e.edgeId);
  return out;
}

/**
 * The media plan body of every edge that takes part in at least one of the
 * meetings. Edges in none are not in the map: the publisher sends them an
 * empty plan when they had one before.
 */
export function mediaPlans(
  meetings: readonly PlannedMeeting[],
  dir: MediaDirectory,
): { plans: Map<string, MediaPlanBody>; waiting: WaitingLink[]; dropped: WaitingLink[] } {
  const byEdge = new Map<string, MediaMeeting[]>();
  const waiting: WaitingLink[] = [];
  for (const m of [...meetings].sort((a, b) => (a.meetingId < b.meetingId ? -1 : a.meetingId > b.meetingId ? 1 : 0))) {
    const below = sitesBelow(m.plan);
    for (const entry of m.plan.entries) {
      let upstream: MediaMeeting['upstream'] = null;
      if (entry.upstreamEdgeId !== null) {
        const signalUrl = dir.signalUrlOf(entry.upstreamEdgeId);
        if (signalUrl === null) {
          // Without an address the edge cannot link; it gets the meeting as
          // soon as the upstream reports one (the reconciler runs again).
          waiting.push({ meetingId: m.meetingId, edgeId: entry.edgeId, upstreamEdgeId: entry.upstreamEdgeId });
          continue;
        }
        upstream = {
          edgeId: entry.upstreamEdgeId,
          signalUrl,
          linkToken: dir.tokenFor(m.meetingId, entry.upstreamEdgeId),
        };
      }
      const list = byEdge.get(entry.edgeId) ?? [];
      list.push({
        meetingId: m.meetingId,
        title: m.title,
        role: entry.role,
        upstream,
        acceptToken: entry.downstreamEdgeIds.length > 0 ? dir.tokenFor(m.meetingId, entry.edgeId) : null,
        downstream: namedDownstream(entry.downstreamEdgeIds, dir, below),
        localSiteId: entry.localSiteId,
        chairSiteId: m.chairSiteId,
        floorSiteId: m.floorSiteId,
        // Only when set: plans of meetings without one stay as they were.
        ...(m.floorParticipantId ? { floorParticipantId: m.floorParticipantId } : {}),
        rollCallSiteId: m.rollCallSiteId,
        mutedAll: m.mutedAll,
        state: m.state,
        ...(entry.localSiteId !== null && dir.siteNameOf ? { siteNames: namesOf(m.plan.siteIds, dir) } : {}),
        ...revokedAt(m, entry.localSiteId),
      });
      byEdge.set(entry.edgeId, list);
    }
  }
  const plans = new Map<string, MediaPlanBody>();
  const dropped: WaitingLink[] = [];
  for (const [edgeId, list] of byEdge) {
    // Capacity keeps live meetings under the limit, but scheduled ones in
    // their lead time come on top: those wait rather than break the plan.
    let kept = list;
    if (list.length > MAX_MEETINGS_PER_PLAN) {
      kept = [...list.filter((m) => m.state === 'live'), ...list.filter((m) => m.state !== 'live')].slice(
        0,
        MAX_MEETINGS_PER_PLAN,
      );
      const keptIds = new Set(kept.map((m) => m.meetingId));
      for (const m of list) {
        if (!keptIds.has(m.meetingId))
          dropped.push({ meetingId: m.meetingId, edgeId, upstreamEdgeId: m.upstream?.edgeId ?? edgeId });
      }
      kept.sort((a, b) => (a.meetingId < b.meetingId ? -1 : 1));
    }
    plans.set(edgeId, { v: 1, edgeId, meetings: kept });
  }
  return { plans, waiting, dropped };
}
