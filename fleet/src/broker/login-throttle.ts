// Failed MQTT logins, kept so that one bad client behind a shared address (a
// commune's NAT, a district's router) cannot lock out the good boxes behind it.
//
// What a throttle may and may not do here:
// - A password that verifies is never refused because of failures, whoever
//   made them: a bad actor hammering a good box's id from the same address must
//   not keep that box out. So no key is ever "blocked" for right credentials.
// - Device passwords are 192 random bits (see db/secrets.ts), so guessing is
//   hopeless; what a flood can cost is CPU and log lines. A wrong password
//   already refused for that device is refused again without a check (a
//   box left with old credentials retries the same one forever, and an
//   earlier release's scrypt hash costs ~1.5 ms a check), and past `maxFailuresPerPair` in a minute a pair's
//   refusals are counted but not logged one by one.
// - Only an extreme pattern cuts a whole address at accept: wrong passwords
//   for more than `maxFailedIdsPerAddress` different REAL devices from it in a
//   minute, and no device logged in from it in that minute. Made-up ids never
//   count: refusing them costs no password check, and counting them would let
//   anyone behind a commune's NAT shut its boxes out without a credential. A
//   stale box is one id, so it never gets there; an address with a working
//   box on it is never cut, since its other boxes would be cut with it.
import { createHash } from 'node:crypto';
import { FailureLimiter } from '../api/failure-limiter.js';

export interface LoginThrottleOptions {
  /** Failures per (address, device id) per window before its refusals go quiet; 0 = never quiet. */
  maxFailuresPerPair: number;
  /** Different failing device ids per address per window before the address is cut at accept; 0 = never. */
  maxFailedIdsPerAddress: number;
  windowMs: number;
}

/** Wrong passwords remembered per (address, device id): enough for a box cycling a few old ones. */
const KNOWN_BAD_PER_PAIR = 8;
/** Pairs and addresses tracked at most; past this the least recently failed are forgotten. */
const MAX_KEYS = 10_000;

const pairKey = (address: string, deviceId: string): string => `${address}\n${deviceId}`;

export class LoginThrottle {
  private readonly pairs: FailureLimiter;
  /** Per address: failing device id -> last failure, least recent first. */
  private readonly failedIds = new Map<string, Map<string, number>>();
  /** Per address: last successful login. */
  private readonly goodAt = new Map<string, number>();
  /** Per pair: digests of (stored hash, password) already refused. */
  private readonly knownBad = new Map<string, string[]>();

  constructor(private readonly opts: LoginThrottleOptions) {
    this.pairs = new FailureLimiter(opts.maxFailuresPerPair, opts.windowMs, MAX_KEYS);
  }

  /** The digest that identifies one password against one stored hash (a new hash makes old digests useless). */
  static digest(stored: string, password: Buffer): string {
    // 96 bits are plenty to tell a box's few wrong passwords apart, and keep the table small.
    return createHash('sha256')
      .update(stored)
      .update('\n')
      .update(password)
      .digest()
      .subarray(0, 12)
      .toString('base64');
  }

  /** Cut this address's new connections at accept? */
  addressCut(address: string, now: number): boolean {
    const limit = this.opts.maxFailedIdsPerAddress;
    if (limit === 0) return false;
    const good = this.goodAt.get(address);
    if (good !== undefined && good > now - this.opts.windowMs) return false;
    return this.idsOf(address, now).size > limit;
  }

  /** This exact password was already refused for this device from this address. */
  isKnownBad(address: string, deviceId: string, digest: string): boolean {
    return this.knownBad.get(pairKey(address, deviceId))?.includes(digest) ?? false;
  }

  /** Records a failure; true while the pair's refusals should still be logged. */
  failed(address: string, deviceId: string, now: number, digest?: string): boolean {
    const key = pairKey(address, deviceId);
    const loud = !this.pairs.blocked(key, now);
    this.pairs.fail(key, now);
    if (digest !== undefined) {
      // Most recently refused last: a box repeating one old password among a flood of guesses keeps it remembered.
      const list = (this.knownBad.get(key) ?? []).filter((d) => d !== digest);
      list.push(digest);
      if (list.length > KNOWN_BAD_PER_PAIR) list.shift();
      this.knownBad.delete(key);
      this.knownBad.set(key, list);
      evictOldest(this.knownBad);
    }
    // Only a real device's password refused (a digest was taken) counts towards cutting the address.
    if (digest === undefined) return loud;
    const ids = this.idsOf(address, now);
    ids.delete(deviceId);
    ids.set(deviceId, now);
    // Past the limit the answer cannot change; keep the map small.
    const cap = Math.max(1, this.opts.maxFailedIdsPerAddress) + 1;
    for (const id of ids.keys()) {
      if (ids.size <= cap) break;
      ids.delete(id);
    }
    this.failedIds.delete(address);
    this.failedIds.set(address, ids);
    evictOldest(this.failedIds);
    return loud;
  }

  succeeded(address: string, now: number): void {
    this.goodAt.delete(address);
    this.goodAt.set(address, now);
    evictOldest(this.goodAt);
  }

  private idsOf(address: string, now: number): Map<string, number> {
    const ids = this.failedIds.get(address) ?? new Map<string, number>();
    for (const [id, at] of ids) {
      if (at > now - this.opts.windowMs) break; // least recent first: the rest are fresher
      ids.delete(id);
    }
    if (ids.size === 0) this.failedIds.delete(address);
    return ids;
  }
}

function evictOldest<V>(map: Map<string, V>): void {
  for (const key of map.keys()) {
    if (map.size <= MAX_KEYS) return;
    map.delete(key);
  }
}
