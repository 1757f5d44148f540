// Requests to speak: a room in a live meeting presses its box's help button
// (the 'help-requested' event on the device's 'events' channel), or a browser
// participant who joined at that site by a join link asks from the join page
// (its edge reports it in its media stats), and the chair's console shows it
// until the chair gives that room the floor or sets it aside. Granting a
// browser's request gives the floor to its site and to that participant: the
// plan names it (floorParticipantId), so its camera is featured everywhere.
// Kept in memory: a request lives for minutes, and a restarted fleet asks the
// rooms again rather than replaying old hands. Each meeting holds at most one
// request per site, so a meeting's list is bounded by its roster.
import type { Logger } from 'pino';

export type SpeakSource = 'button' | 'simulated' | 'browser';

export interface SpeakRequest {
  siteId: string;
  /** When the room asked (the device's clock); ISO. */
  at: string;
  source: SpeakSource;
  /** A browser participant's id (its streams' site id, e.g. `site-a.web2`), when one asked. */
  participantId?: string;
}

/** Pure: the list after a site asked; the same list when it is already waiting (first ask keeps its place). */
export function addRequest(list: readonly SpeakRequest[], r: SpeakRequest): readonly SpeakRequest[] {
  return list.some((x) => x.siteId === r.siteId) ? list : [...list, r];
}

/** Pure: the list without that site's request. */
export function dropRequest(list: readonly SpeakRequest[], siteId: string): readonly SpeakRequest[] {
  return list.some((x) => x.siteId === siteId) ? list.filter((x) => x.siteId !== siteId) : list;
}

export interface SpeakRequestCounters {
  accepted: number;
  /** Presses from a site that is in no live meeting (an ordinary call for help). */
  outsideMeeting: number;
}

/** A browser's request the chair answered: its edge reports it until it sees the answer, and it must not come back. */
const answeredKey = (meetingId: string, r: Pick<SpeakRequest, 'participantId' | 'at'>): string =>
  `${meetingId}\n${r.participantId ?? ''}\n${r.at}`;

export class SpeakRequests {
  private readonly byMeeting = new Map<string, readonly SpeakRequest[]>();
  /** Browser requests already granted or set aside, per meeting. */
  private readonly answered = new Map<string, Set<string>>();
  /** The browser participant given the floor with its site, per meeting. */
  private readonly floorParticipants = new Map<string, { siteId: string; participantId: string }>();
  readonly counters: SpeakRequestCounters = { accepted: 0, outsideMeeting: 0 };

  constructor(private readonly log: Logger) {}

  /** A room asked; `meetingId` null when its site is in no live meeting. Returns whether it was taken. */
  ask(meetingId: string | null, r: SpeakRequest): boolean {
    if (meetingId === null) {
      this.counters.outsideMeeting += 1;
      return false;
    }
    if (r.participantId !== undefined && this.answered.get(meetingId)?.has(answeredKey(meetingId, r))) return false;
    const before = this.byMeeting.get(meetingId) ?? [];
    const after = addRequest(before, r);
    if (after === before) return false;
    this.byMeeting.set(meetingId, after);
    this.counters.accepted += 1;
    this.log.info({ meetingId, siteId: r.siteId, source: r.source }, 'request to speak');
    return true;
  }

  /** The chair gave the floor or set the request aside. Returns the request, or null when there was none. */
  settle(meetingId: string, siteId: string): SpeakRequest | null {
    const before = this.byMeeting.get(meetingId) ?? [];
    const request = before.find((x) => x.siteId === siteId) ?? null;
    const after = dropRequest(before, siteId);
    if (after.length === 0) this.byMeeting.delete(meetingId);
    else this.byMeeting.set(meetingId, after);
    if (request?.participantId !== undefined) {
      const seen = this.answered.get(meetingId) ?? new Set<string>();
      seen.add(answeredKey(meetingId, request));
      this.answered.set(meetingId, seen);
    }
    return request;
  }

  /** The chair gave `siteId` the floor: a browser's request from it gives that participant the floor too. */
  grant(meetingId: string, siteId: string | null): void {
    const request = siteId === null ? null : this.settle(meetingId, siteId);
    if (request?.participantId !== undefined)
      this.floorParticipants.set(meetingId, { siteId: request.siteId, participantId: request.participantId });
    else this.floorParticipants.delete(meetingId);
  }

  /** The browser participant holding the floor with `floorSiteId`, if the chair gave it one. */
  floorParticipant(meetingId: string, floorSiteId: string | null): string | null {
    const p = this.floorParticipants.get(meetingId);
    return p !== undefined && p.siteId === floorSiteId ? p.participantId : null;
  }

  list(meetingId: string): readonly SpeakRequest[] {
    return this.byMeeting.get(meetingId) ?? [];
  }

  /** Forgets meetings that are no longer live (called after every plan pass). */
  keepOnly(liveMeetingIds: ReadonlySet<string>): void {
    for (const map of [this.byMeeting, this.answered, this.floorParticipants])
      for (const id of map.keys()) if (!liveMeetingIds.has(id)) map.delete(id);
  }
}
