import type { NewAuditEntry } from '../db/audit-repo.js';

/**
 * Refused HTTP requests (401 and 403), gathered per source address and
 * minute so the audit log gets at most one row per (address, minute) however
 * many refusals arrive: a scanner hammering the API must not flood the log
 * or the disk. Pure over the clock it is given; the auth plugin feeds it and
 * writes what `flush()` returns.
 *
 * Memory is bounded: at most `maxSources` addresses are tracked per minute
 * (the rest are folded into one row for source `*`), and each address keeps
 * at most `maxRoutes` distinct routes and `maxSamples` raw paths.
 */
export interface Refusal {
  /** The client address (request.ip). */
  source: string;
  status: 401 | 403;
  /** no-token, bad-token, role, viewer-write, handler */
  reason: string;
  /** The matched route (`POST /api/v1/operators`) or `POST (no route)`. */
  route: string;
  /** The request target as sent, kept only for unmatched routes (what was probed). */
  path?: string;
  operatorId?: string | null;
}

export interface RefusalLimits {
  maxSources: number;
  maxRoutes: number;
  maxSamples: number;
}

const DEFAULT_LIMITS: RefusalLimits = { maxSources: 1000, maxRoutes: 10, maxSamples: 5 };
const MINUTE_MS = 60_000;
const OVERFLOW = '*';
/** Raw paths are attacker-chosen text: kept short. */
const SAMPLE_CHARS = 120;

interface Bucket {
  count: number;
  byStatus: Record<string, number>;
  reasons: Record<string, number>;
  routes: Map<string, number>;
  otherRoutes: number;
  samples: string[];
  operators: Set<string>;
  /** Distinct addresses folded into the overflow bucket. */
  sources: number;
}

export class RefusalAggregator {
  private minute = -1;
  private readonly buckets = new Map<string, Bucket>();
  private readonly limits: RefusalLimits;

  constructor(limits: Partial<RefusalLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Addresses tracked for the current minute (for tests of the bound). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Records one refusal at `now`. When the minute has changed, returns the
   * finished minute's rows (to be written); otherwise an empty list.
   */
  add(r: Refusal, now: number): NewAuditEntry[] {
    const minute = Math.floor(now / MINUTE_MS);
    const done = minute !== this.minute ? this.drain() : [];
    this.minute = minute;
    let key = r.source;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.limits.maxSources) key = OVERFLOW;
      bucket = this.buckets.get(key);
      if (!bucket) {
        bucket = {
          count: 0,
          byStatus: {},
          reasons: {},
          routes: new Map(),
          otherRoutes: 0,
          samples: [],
          operators: new Set(),
          sources: 0,
        };
        this.buckets.set(key, bucket);
      }
      if (key === OVERFLOW) bucket.sources++;
    }
    bucket.count++;
    bucket.byStatus[r.status] = (bucket.byStatus[r.status] ?? 0) + 1;
    bucket.reasons[r.reason] = (bucket.reasons[r.reason] ?? 0) + 1;
    const seen = bucket.routes.get(r.route);
    if (seen !== undefined) bucket.routes.set(r.route, seen + 1);
    else if (bucket.routes.size < this.limits.maxRoutes) bucket.routes.set(r.route, 1);
    else bucket.otherRoutes++;
    if (r.path !== undefined && bucket.samples.length < this.limits.maxSamples)
      bucket.samples.push(r.path.slice(0, SAMPLE_CHARS));
    if (r.operatorId && bucket.operators.size < this.limits.maxRoutes) bucket.operators.add(r.operatorId);
    return done;
  }

  /** The rows of a minute that is over by `now` (called by a timer so a quiet minute is still written). */
  flushIfDue(now: number): NewAuditEntry[] {
    return Math.floor(now / MINUTE_MS) !== this.minute ? this.drain() : [];
  }

  /** Every row held, finished minute or not (at shutdown). */
  drain(): NewAuditEntry[] {
    if (this.buckets.size === 0) return [];
    const at = new Date(this.minute * MINUTE_MS).toISOString();
    const rows: NewAuditEntry[] = [];
    for (const [source, b] of this.buckets) {
      rows.push({
        operatorId: null,
        operatorName: null,
        action: 'http.refused',
        target: `source:${source}`,
        outcome: `${b.count} refused`,
        details: {
          minute: at,
          count: b.count,
          byStatus: b.byStatus,
          reasons: b.reasons,
          routes: Object.fromEntries(b.routes),
          ...(b.otherRoutes > 0 ? { otherRoutes: b.otherRoutes } : {}),
          ...(b.samples.length > 0 ? { paths: b.samples } : {}),
          ...(b.operators.size > 0 ? { operators: [...b.operators] } : {}),
          ...(source === OVERFLOW ? { sources: b.sources } : {}),
        },
      });
    }
    this.buckets.clear();
    return rows;
  }
}

/**
 * How many refused writes of one operator get a row of their own per minute;
 * past that they join the aggregate. An operator is known (the token was
 * valid), so the first refusals say who tried what; a stolen viewer token
 * looping on writes still cannot flood the log. Keys are operator ids, which
 * exist only for valid tokens, and the map is emptied every minute.
 */
export class MinuteBudget {
  private minute = -1;
  private readonly used = new Map<string, number>();

  constructor(private readonly perMinute: number) {}

  take(key: string, now: number): boolean {
    const minute = Math.floor(now / MINUTE_MS);
    if (minute !== this.minute) {
      this.minute = minute;
      this.used.clear();
    }
    const n = this.used.get(key) ?? 0;
    if (n >= this.perMinute) return false;
    this.used.set(key, n + 1);
    return true;
  }
}
