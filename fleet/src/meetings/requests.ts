// Requests to speak: a room in a live meeting presses its box's help button
// (the 'help-requested' event on the device's 'events' channel) and the chair's
// console shows it until the chair gives that room the floor or sets it aside.
// Kept in memory: a request lives for minutes, and a restarted fleet asks the
// rooms again rather than replaying old hands. Each meeting holds at most one
// request per site, so a meeting's list is bounded by its roster.
import type { Logger } from 'pino';

export type SpeakSource = 'button' | 'simulated';

export interface SpeakRequest {
  siteId: string;
  /** When the room asked (the device's clock); ISO. */
  at: string;
  source: SpeakSource;
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

export class SpeakRequests {
  private readonly byMeeting = new Map<string, readonly SpeakRequest[]>();
  readonly counters: SpeakRequestCounters = { accepted: 0, outsideMeeting: 0 };

  constructor(private readonly log: Logger) {}

  /** A room asked; `meetingId` null when its site is in no live meeting. Returns whether it was taken. */
  ask(meetingId: string | null, r: SpeakRequest): boolean {
    if (meetingId === null) {
      this.counters.outsideMeeting += 1;
      return false;
    }
    const before = this.byMeeting.get(meetingId) ?? [];
    const after = addRequest(before, r);
    if (after === before) return false;
    this.byMeeting.set(meetingId, after);
    this.counters.accepted += 1;
    this.log.info({ meetingId, siteId: r.siteId, source: r.source }, 'request to speak');
    return true;
  }

  /** The chair gave the floor or set the request aside. Returns whether there was one. */
  settle(meetingId: string, siteId: string): boolean {
    const before = this.byMeeting.get(meetingId) ?? [];
    const after = dropRequest(before, siteId);
    if (after.length === 0) this.byMeeting.delete(meetingId);
    else this.byMeeting.set(meetingId, after);
    return after !== before;
  }

  list(meetingId: string): readonly SpeakRequest[] {
    return this.byMeeting.get(meetingId) ?? [];
  }

  /** Forgets meetings that are no longer live (called after every plan pass). */
  keepOnly(liveMeetingIds: ReadonlySet<string>): void {
    for (const id of this.byMeeting.keys()) if (!liveMeetingIds.has(id)) this.byMeeting.delete(id);
  }
}
