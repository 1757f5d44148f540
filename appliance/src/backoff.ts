// One backoff for every retry on the box (enrolment, MQTT, the fleet API, the
// media edge's links and workers). Pure: how long to wait before attempt n
// (0-based). Exponential with full jitter, so 210 boxes that lost the same
// link do not all come back in the same millisecond when it returns.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, factor: 2 };

/**
 * The box's MQTT reconnects. A lower ceiling than the rest: when the fleet
 * restarts (an update, a node's death), every box fails a few attempts while
 * it is down, and with a 30 s ceiling the last ones slept up to half a minute
 * after the fleet was back (10,000 boxes took 105 s to return). An attempt on
 * a broker that is down or busy costs it a refused connection or one
 * CONNACK; 10,000 boxes at one attempt per 4–8 s is nothing to a broker. The
 * fleet's own pacing (the pending-login cap) spreads a storm from there.
 */
export const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 8000, factor: 2 };

export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt));
  // Half fixed, half jitter: never zero (no hot loop), never above the ceiling.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A sleep that a close() can cut short. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The same policy with its attempt count kept: for loops that reconnect or
 * restart a process, and call reset() once it is up again.
 */
export class Backoff {
  private attempt = 0;
  private readonly policy: BackoffPolicy;

  constructor(initialMs = 500, maxMs = 10_000) {
    this.policy = { initialMs, maxMs, factor: 2 };
  }

  next(): number {
    const ms = backoffDelay(this.attempt, this.policy);
    this.attempt = Math.min(this.attempt + 1, 16);
    return ms;
  }

  reset(): void {
    this.attempt = 0;
  }
}
