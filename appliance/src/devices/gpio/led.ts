import type { LedPatternName } from '@diemcau/shared';
import type { Clock, Level } from './pins.js';

// Status LED patterns. Each is a cycle of [level, milliseconds] steps; a
// single step with no duration is a steady light. They differ in rhythm, not
// only speed, so a clerk on the phone can tell them apart ("it blinks twice,
// then pauses" = error; "lit, dark for a moment, lit again" = the box works,
// but its last update failed or was rolled back).

export type Step = readonly [Level, number];

export const PATTERNS: Record<LedPatternName, readonly Step[]> = {
  off: [[0, 0]],
  online: [[1, 0]],
  enrolling: [
    [1, 500],
    [0, 500],
  ],
  offline: [
    [1, 100],
    [0, 1900],
  ],
  updating: [
    [1, 120],
    [0, 120],
  ],
  error: [
    [1, 150],
    [0, 150],
    [1, 150],
    [0, 1050],
  ],
  notice: [
    [1, 1500],
    [0, 500],
  ],
  identify: [
    [1, 60],
    [0, 60],
  ],
};

/** Plays patterns on one output; `flash` overlays a pattern for a while, then resumes the base. */
export class LedPlayer {
  private base: LedPatternName = 'off';
  private current: LedPatternName = 'off';
  private step = 0;
  private timer: unknown = null;
  private flashTimer: unknown = null;
  private closed = false;

  constructor(
    private readonly write: (v: Level) => void,
    private readonly clock: Clock,
  ) {}

  get pattern(): LedPatternName {
    return this.current;
  }

  set(pattern: LedPatternName): void {
    this.base = pattern;
    // A flash in progress keeps the LED; the new base shows when it ends.
    if (this.flashTimer === null) this.play(pattern);
  }

  flash(pattern: LedPatternName, ms: number): void {
    if (this.closed) return;
    if (this.flashTimer !== null) this.clock.clearTimeout(this.flashTimer);
    this.play(pattern);
    this.flashTimer = this.clock.setTimeout(() => {
      this.flashTimer = null;
      this.play(this.base);
    }, ms);
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    if (this.flashTimer !== null) this.clock.clearTimeout(this.flashTimer);
    this.flashTimer = null;
    this.closed = true;
  }

  private play(pattern: LedPatternName): void {
    if (this.closed) return;
    this.stop();
    this.current = pattern;
    this.step = 0;
    this.tick();
  }

  private tick(): void {
    const steps = PATTERNS[this.current];
    const [level, ms] = steps[this.step % steps.length]!;
    this.write(level);
    if (steps.length === 1) return; // steady: no timer at all
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.step = (this.step + 1) % steps.length;
      this.tick();
    }, ms);
  }

  private stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}

/** What the agent knows about itself, as far as the status LED cares. */
export interface AgentStatus {
  phase: 'enrolling' | 'connecting' | 'online' | 'offline';
  updating: boolean;
  /** The agent hit an error it cannot recover from by itself (bad config, enrolment refused). */
  failed: boolean;
  /** Camera, microphone and TV all ok (roomReady of the last peripherals). */
  roomReady: boolean;
  /** The last update failed or was rolled back: the box works on the version it had (told for a day). */
  notice?: boolean;
}

/**
 * The one pattern the LED shows for a state: the most urgent thing wins.
 * A box online with a broken camera blinks "error", so the clerk calls the
 * province before the meeting rather than during it; an update that failed
 * on a box that works is only a notice (the province already knows).
 */
export function statusPattern(s: AgentStatus): LedPatternName {
  if (s.failed) return 'error';
  if (s.updating) return 'updating';
  if (s.phase === 'enrolling') return 'enrolling';
  if (s.phase === 'offline' || s.phase === 'connecting') return 'offline';
  if (!s.roomReady) return 'error';
  return s.notice ? 'notice' : 'online';
}
