/**
 * Counts failed attempts per key (a client address) in a sliding window and
 * says when a key has failed too often. Used for enrolment: guessing tokens
 * or serials is throttled, while a province enrolling hundreds of boxes from
 * one address with valid tokens is never slowed down.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly maxFailures: number, private readonly windowMs: number) {}

  /** True when `key` has used up its failures in the window (0 = no limit). */
  blocked(key: string, now: number): boolean {
    if (this.maxFailures === 0) return false;
    return this.recent(key, now).length >= this.maxFailures;
  }

  fail(key: string, now: number): void {
    const list = this.recent(key, now);
    list.push(now);
    this.failures.set(key, list);
    if (this.failures.size > 10_000) this.sweep(now);
  }

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }

  /** Bounds memory when many addresses fail once and never return. */
  private sweep(now: number): void {
    for (const key of [...this.failures.keys()]) this.recent(key, now);
  }
}
