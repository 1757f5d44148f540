import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** A random secret, URL-safe, 256 bits unless told otherwise. */
export const newSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** A short random id with a readable prefix, e.g. `dev-5f3a…`. */
export const newId = (prefix: string, bytes = 8): string => `${prefix}-${randomBytes(bytes).toString('hex')}`;

/**
 * Operator and enrolment tokens are 256-bit random values, so a plain SHA-256
 * is enough to make a stolen database useless and lets us look a token up by
 * its hash (an index) instead of trying every row.
 */
export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

// Device passwords are random too (192 bits), but they are the long-lived
// credential on a box in a commune office, so they are stored as scrypt
// hashes. The cost is deliberately low (N=2^7, about 1.5 ms here): after a
// fleet restart 10,000 boxes reconnect at once and each costs one
// verification (N=2^12 measured 53 ms each on the 2-core test box: four
// minutes of CPU). A work factor protects guessable passwords; against 192
// random bits it adds nothing. The parameters are stored with each hash, so
// they can be raised later without re-enrolling anyone.
const SCRYPT = { N: 1 << 7, r: 8, p: 1, keylen: 32 } as const;

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$salt$hash`, all parameters stored so they can change later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, 'base64');
  const key = await new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password,
      Buffer.from(saltB64, 'base64'),
      expected.length,
      { N: Number(n), r: Number(r), p: Number(p) },
      (err, k) => (err ? reject(err) : resolve(k)),
    );
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
