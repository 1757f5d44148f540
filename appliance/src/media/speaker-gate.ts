// Who may be named the meeting's speaker: a microphone that is heard. The
// host's dominant-speaker observer (mediasoup's ActiveSpeakerObserver) always
// names someone: the first microphone it knows when the meeting starts, the
// only one when there is one, and any one when the microphone it had named
// goes away. When the chair gives the floor and every other room's microphone
// closes, that is a silent open microphone (the chair's or the floor's), and
// naming it pushes the rooms that really spoke out of the recent speakers.
// It also holds on to a choice whose microphone has closed, and may take many
// seconds to move to the room that now has the floor.
//
// So the host also reads the router's level observer: every LEVEL report
// lists the microphones whose level was above the voice threshold. The rule:
// - the observer's choice is named once it is heard (within HEARD_HOLD_MS);
// - while its choice is not heard and the speaker named last is not heard
//   either, a microphone heard in SUSTAIN_REPORTS reports in a row is named
//   (the loudest of this report first): someone who keeps speaking while the
//   observer's choice is silent;
// - a microphone that is not heard is never named, and one that closes is no
//   longer heard: a closed microphone holds the floor against nobody.
// Pure: the room feeds it both observers' events with the time, and names
// what it returns (the same answer again is the caller's to ignore).
//
// Trade-off of the numbers: a room that starts speaking while nobody holds
// the floor is named after two reports in a row (0.3 to 0.6 s of voice, once
// its sound reaches the host); a noise that lasts as long (a cough, a chair
// dragged) while the meeting is silent also takes the floor, and one report
// would name every click. While the last speaker is heard (its pauses shorter
// than HEARD_HOLD_MS) a steady voice elsewhere does not take over: only the
// observer, which learns each room's noise floor, moves the floor then.

/**
 * How long a microphone counts as heard after a report heard it: longer than
 * the report interval (300 ms) and a pause between sentences, short enough
 * that a room heard long ago does not take the floor when the observer's
 * choice falls on it.
 */
export const HEARD_HOLD_MS = 1500;
/** Reports in a row (one each 300 ms) that hear a microphone the observer did not choose before it is named. */
export const SUSTAIN_REPORTS = 2;

export class SpeakerGate {
  /** The observer's latest choice (a producer id). */
  private dominant: string | null = null;
  /** What this gate named last. */
  private named: string | null = null;
  /** Per microphone, the times of the recent reports that heard it (within holdMs). */
  private readonly reports = new Map<string, number[]>();
  /** Per microphone heard in the latest report, how many reports in a row have heard it. */
  private streaks = new Map<string, number>();

  constructor(private readonly holdMs = HEARD_HOLD_MS) {}

  /** The observer named a dominant speaker. Returns it if it may be named now, null otherwise. */
  dominantSpeaker(producerId: string, now: number): string | null {
    this.dominant = producerId;
    return this.isHeard(producerId, now) ? this.name(producerId) : null;
  }

  /** A level report: these microphones were heard above the threshold, the loudest first. Returns whom to name, or null. */
  heard(producerIds: readonly string[], now: number): string | null {
    const streaks = new Map<string, number>();
    for (const id of producerIds) {
      const times = this.recent(id, now);
      times.push(now);
      this.reports.set(id, times);
      streaks.set(id, (this.streaks.get(id) ?? 0) + 1);
    }
    this.streaks = streaks;
    const d = this.dominant;
    if (d !== null && this.isHeard(d, now)) return this.name(d);
    if (this.named !== null && this.isHeard(this.named, now)) return null;
    const sustained = producerIds.find((id) => (streaks.get(id) ?? 0) >= SUSTAIN_REPORTS);
    return sustained === undefined ? null : this.name(sustained);
  }

  /**
   * A microphone closed (muted at its room, or by the chair): what was heard
   * of it no longer counts, so it does not hold the floor for HEARD_HOLD_MS
   * after the last report that heard it.
   */
  closed(producerId: string): void {
    this.reports.delete(producerId);
    this.streaks.delete(producerId);
  }

  /** A microphone left the meeting. */
  forget(producerId: string): void {
    this.closed(producerId);
    if (this.dominant === producerId) this.dominant = null;
    if (this.named === producerId) this.named = null;
  }

  isHeard(producerId: string, now: number): boolean {
    return this.recent(producerId, now).length > 0;
  }

  private recent(producerId: string, now: number): number[] {
    return (this.reports.get(producerId) ?? []).filter((at) => now - at <= this.holdMs);
  }

  private name(producerId: string): string {
    this.named = producerId;
    return producerId;
  }
}
