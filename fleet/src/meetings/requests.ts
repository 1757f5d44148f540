// Requests to speak: a room in a live meeting presses its box's help button
// (the 'help-requested' event on the device's 'events' channel), or a browser
// participant who joined at that site by a join link asks from the join page
// (its edge reports it in its media stats), and the chair's console shows it
// until the chair gives that room the floor or sets it aside. Granting a
// browser's request gives the floor to its site and to that participant: the
// meeting stores it (floorParticipantId) and the plan names it, so its camera
// is featured everywhere. Stored in the registry (requests-repo.ts): in a
// cluster the press and the console may be on different nodes.
import type { Logger } from 'pino';
import type { SpeakRequest, SpeakRequestsRepo } from './requests-repo.js';

export type { SpeakRequest, SpeakSource } from './requests-repo.js';

export interface SpeakRequestCounters {
  accepted: number;
  /** Presses from a site that is in no live meeting (an ordinary call for help). */
  outsideMeeting: number;
}

export class SpeakRequests {
  /** This node's counts (each node counts what reached it). */
  readonly counters: SpeakRequestCounters = { accepted: 0, outsideMeeting: 0 };

  constructor(
    private readonly repo: SpeakRequestsRepo,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** A room asked; `meetingId` null when its site is in no live meeting. Returns whether it was taken. */
  async ask(meetingId: string | null, r: SpeakRequest): Promise<boolean> {
    if (meetingId === null) {
      this.counters.outsideMeeting += 1;
      return false;
    }
    if (!(await this.repo.add(meetingId, r))) return false;
    this.counters.accepted += 1;
    this.log.info({ meetingId, siteId: r.siteId, source: r.source }, 'request to speak');
    return true;
  }

  /**
   * The chair gave the site the floor or set its request aside. Returns the
   * request (a browser's names the participant), or null when none waited.
   */
  answer(meetingId: string, siteId: string): Promise<SpeakRequest | null> {
    return this.repo.answer(meetingId, siteId, this.now());
  }

  list(meetingId: string): Promise<SpeakRequest[]> {
    return this.repo.waiting(meetingId);
  }

  /** Forgets the requests of meetings that have ended (called after every plan pass). */
  async forgetEnded(): Promise<void> {
    const n = await this.repo.clearEnded(this.now());
    if (n > 0) this.log.debug({ rows: n }, 'requests to speak of ended meetings forgotten');
  }
}
