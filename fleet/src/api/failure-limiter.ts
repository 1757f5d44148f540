/**
 * Counts failed attempts per key in a sliding window and says when a key has
 * failed too often. Used for enrolment (key: client address): guessing tokens
 * or serials is throttled, while a province enrolling hundreds of boxes from
 * one address with valid tokens is never slowed down. The broker's login
 * throttle keys it by address and device id.
 *
 * Memory is bounded whatever a flood does: a key keeps at most `maxFailures`
 * timestamps (more would not change the answer), and past `maxKeys` keys the
 * stale ones are swept, then the oldest dropped (a dropped key only forgets
 * its failures, it is never blocked by mistake).
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** True when `key` has used up its failures in the window (0 = no limit). */
  blocked(key: string, now: number): boolean {
    if (this.maxFailures === 0) return false;
    return this.recent(key, now).length >= this.maxFailures;
  }

  /** Failures of `key` in the window, at most the limit (or 1 with no limit). */
  count(key: string, now: number): number {
    return this.recent(key, now).length;
  }

  fail(key: string, now: number): void {
    const list = this.recent(key, now);
    list.push(now);
    const keep = Math.max(1, this.maxFailures);
    if (list.length > keep) list.splice(0, list.length - keep);
    // Re-inserted last, so the Map's order is least recently failed first.
    this.failures.delete(key);
    this.failures.set(key, list);
    if (this.failures.size > this.maxKeys) this.sweep(now);
  }

  /** Keys currently tracked (for tests and metrics). */
  get size(): number {
    return this.failures.size;
  }

  private recent(key: string, now: number): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const fresh = list.filter((t) => t > now - this.windowMs);
    if (fresh.length === 0) this.failures.delete(key);
    else if (fresh.length !== list.length) this.failures.set(key, fresh);
    return fresh;
  }

  /**
   * Bounds memory when many keys fail and never return, or fail all at once.
   * Goes down to 90% of the bound, so a flood of new keys pays for one sweep
   * per tenth of the table rather than one per key.
   */
  private sweep(now: number): void {
    for (const key of [...this.failures.keys()]) this.recent(key, now);
    const target = Math.floor(this.maxKeys * 0.9);
    for (const key of this.failures.keys()) {
      if (this.failures.size <= target) break;
      this.failures.delete(key);
    }
  }
}
