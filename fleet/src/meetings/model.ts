// A meeting as the fleet stores it, and the state it is in at a given time.
// State follows from the times rather than from timers, so a restarted
// server, a test and the reconciler all agree on it without coordination.
import type { MeetingState } from '@diemcau/shared';

export interface MeetingRecord {
  id: string;
  title: string;
  chairSiteId: string;
  /** Participants, chair included, sorted. */
  siteIds: string[];
  /** Epoch milliseconds; a window is [startsAt, endsAt). */
  startsAt: number;
  endsAt: number;
  /** Set when the chair (or an operator) ends it. */
  endedAt: number | null;
  mutedAll: boolean;
  floorSiteId: string | null;
  /** A browser participant of the floor's site given the floor with it (its request to speak was granted). */
  floorParticipantId: string | null;
  rollCallSiteId: string | null;
  createdAt: number;
  createdBy: string | null;
}

export function meetingState(m: MeetingRecord, now: number): MeetingState {
  if (m.endedAt !== null && m.endedAt <= now) return 'ended';
  if (now >= m.endsAt) return 'ended';
  return now >= m.startsAt ? 'live' : 'scheduled';
}

/** Where the window really closes: the planned end, or earlier when ended by hand. */
export const effectiveEnd = (m: MeetingRecord): number =>
  m.endedAt === null ? m.endsAt : Math.min(m.endsAt, m.endedAt);
