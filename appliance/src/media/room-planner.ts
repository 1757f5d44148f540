// Pure decisions of the edge: which rooms to open, close or update for a new
// media plan, and what the chair's controls mean for this edge's microphone.
// The edge (edge.ts) executes the steps; these functions do no I/O.
import { MAX_WARM, RECENT_SPEAKERS } from './forwarding.js';
import type { MediaMeeting, MediaPlan } from '@diemcau/shared';

export type RoomStep =
  | { action: 'open'; meeting: MediaMeeting }
  | { action: 'close'; meetingId: string; reason: 'ended' | 'replanned' }
  | { action: 'update'; meeting: MediaMeeting };

/** Fields that decide how a room is built: a change means close and open again. */
const structural = (m: MediaMeeting): string =>
  JSON.stringify([
    m.role,
    m.upstream?.edgeId ?? null,
    m.upstream?.signalUrl ?? null,
    m.upstream?.linkToken ?? null,
    m.acceptToken,
    m.localSiteId,
  ]);

/**
 * Fields that a running room follows in place (who may link below it, too: a
 * new commune's address arrives mid-meeting; the browser given the floor with
 * a site that already held it; the join links the fleet revoked).
 */
const controls = (m: MediaMeeting): string =>
  JSON.stringify([
    m.title,
    m.chairSiteId,
    m.floorSiteId,
    m.floorParticipantId ?? null,
    m.rollCallSiteId,
    m.mutedAll,
    m.downstream ?? [],
    m.revokedLinks ?? [],
  ]);

/**
 * Steps from the rooms that are open (by meeting id, with the plan entry they
 * were opened or last updated with) to the plan. Closes come first, so a
 * replanned room frees its ports before its successor opens.
 */
export function planRooms(open: ReadonlyMap<string, MediaMeeting>, plan: MediaPlan): RoomStep[] {
  const closes: RoomStep[] = [];
  const rest: RoomStep[] = [];
  const wanted = new Map(plan.meetings.filter((m) => m.state === 'live').map((m) => [m.meetingId, m]));
  for (const [id, current] of open) {
    const next = wanted.get(id);
    if (!next) closes.push({ action: 'close', meetingId: id, reason: 'ended' });
    else if (structural(next) !== structural(current)) {
      closes.push({ action: 'close', meetingId: id, reason: 'replanned' });
      rest.push({ action: 'open', meeting: next });
    } else if (controls(next) !== controls(current)) rest.push({ action: 'update', meeting: next });
  }
  for (const [id, m] of wanted) if (!open.has(id)) rest.push({ action: 'open', meeting: m });
  return [...closes, ...rest];
}

export type PlanVerdict = { ok: true } | { ok: false; reason: string };

/** Whether an edge should run a plan it received (retained MQTT messages can be stale). */
export function acceptPlan(edgeId: string, runningRevision: number | null, plan: MediaPlan): PlanVerdict {
  if (plan.edgeId !== edgeId) return { ok: false, reason: `plan is for edge ${plan.edgeId}` };
  if (runningRevision !== null && plan.revision < runningRevision) {
    return { ok: false, reason: `revision ${plan.revision} is older than running ${runningRevision}` };
  }
  const ids = new Set<string>();
  for (const m of plan.meetings) {
    if (ids.has(m.meetingId)) return { ok: false, reason: `meeting ${m.meetingId} listed twice` };
    ids.add(m.meetingId);
    if ((m.role === 'host') !== (m.upstream === null))
      return { ok: false, reason: `meeting ${m.meetingId}: a host has no upstream, others need one` };
  }
  return { ok: true };
}

/**
 * Is this edge's room microphone open? The chair always speaks; with the floor
 * given, only the floor and the chair; after "mute all", only the chair.
 */
export function micOpen(m: MediaMeeting): boolean {
  const site = m.localSiteId;
  if (site === null) return false;
  if (site === m.chairSiteId) return true;
  if (m.floorSiteId !== null) return site === m.floorSiteId;
  return !m.mutedAll;
}

/**
 * Is a browser participant's microphone open (a laptop, phone or tablet that
 * joined by a join link; its id is `<site>.web<n>`, peers.ts)? The chair's
 * controls hold for it as for a room: one given the floor itself speaks, and
 * so does one at the chair's site; with the floor given to anyone else, or
 * after "mute all", it is closed.
 */
export function participantMicOpen(m: MediaMeeting, participantId: string): boolean {
  if (m.floorParticipantId === participantId) return true;
  if (participantId.slice(0, participantId.lastIndexOf('.')) === m.chairSiteId) return true;
  if (m.floorSiteId !== null || m.floorParticipantId) return false;
  return !m.mutedAll;
}

/**
 * Sites a link may carry streams of at once (forwarding.ts): the featured ones
 * (the chair, the floor, the roll call, the recent speakers) and the warm ones.
 */
const MAX_FEATURED = 3 + RECENT_SPEAKERS + MAX_WARM;
/** Streams a featured site sends over a link: its microphone, its camera and the camera's small picture (layers.ts). */
const STREAMS_PER_FEATURED = 3;

/**
 * What one link of this edge will carry out, as far as the plan says. A link
 * carries only what flows (forwarding.ts): down, the featured sites' streams,
 * wherever they come from; up, the featured cameras from this side and every
 * open microphone of it (a roll call opens them all). This side: the local
 * room and the sites behind the other downstream links. `peerEdgeId` null: the
 * upstream link. The router places the link's transport by it (a meeting
 * spanning workers), since the consumers a link will hold arrive only after it
 * is made.
 */
export function expectedLinkConsumers(m: MediaMeeting, peerEdgeId: string | null): number {
  let sites = m.localSiteId === null ? 0 : 1;
  for (const d of m.downstream ?? []) if (d.edgeId !== peerEdgeId) sites += d.siteIds?.length ?? 1;
  if (peerEdgeId === null) return sites + Math.min(sites, MAX_FEATURED) * (STREAMS_PER_FEATURED - 1);
  // Down: the featured sites may sit above this edge too (not in the plan), unless it is the host.
  const featured = m.upstream === null ? Math.min(sites, MAX_FEATURED) : MAX_FEATURED;
  return featured * STREAMS_PER_FEATURED;
}
