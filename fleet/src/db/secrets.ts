import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

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

// Device passwords are random too (192 bits) and long-lived: the credential
// on a box in a commune office. They are stored as a salted SHA-256
// (`sha256$salt$digest`), like the tokens above. A work factor protects
// guessable passwords; against 192 random bits it adds nothing, and it cost
// the fleet dearly: after a restart 10,000 boxes log in at once, and the
// scrypt hashes of earlier releases (N=2^7, about 1.5 ms each) made that 15 s
// of CPU on two cores. Both forms verify. The broker stores each box's hash
// in the configured form at its next login (DIEMCAU_DEVICE_PASSWORD_HASH):
// `scrypt` is for a fleet that may still go back to a release that knows only
// scrypt, and for the nodes of a cluster while some still run one.

export type PasswordHashForm = 'sha256' | 'scrypt';

/** The stored form of a device password. */
export async function hashPassword(password: string, form: PasswordHashForm = 'sha256'): Promise<string> {
  const salt = randomBytes(16);
  if (form === 'scrypt') {
    const key = await scryptKey(password, salt, SCRYPT.keylen, SCRYPT.cost);
    return `scrypt$${SCRYPT.cost.N}$${SCRYPT.cost.r}$${SCRYPT.cost.p}$${salt.toString('base64')}$${key.toString('base64')}`;
  }
  return `sha256$${salt.toString('base64')}$${saltedDigest(salt, password).toString('base64')}`;
}

/** Whether a stored hash is in this form (else it is replaced after its next good login). */
export const isHashForm = (stored: string, form: PasswordHashForm): boolean => stored.startsWith(`${form}$`);

/** The scrypt parameters of earlier releases (N=2^7, about 1.5 ms a check here). */
const SCRYPT = { keylen: 32, cost: { N: 1 << 7, r: 8, p: 1 } } as const;

const scryptKey = (password: string, salt: Buffer, keylen: number, cost: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scrypt(password, salt, keylen, cost, (err, k) => (err ? reject(err) : resolve(k))));

const saltedDigest = (salt: Buffer, password: string): Buffer =>
  createHash('sha256').update(salt).update(password).digest();

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length === 3 && parts[0] === 'sha256') {
    const expected = Buffer.from(parts[2]!, 'base64');
    const digest = saltedDigest(Buffer.from(parts[1]!, 'base64'), password);
    return digest.length === expected.length && timingSafeEqual(digest, expected);
  }
  // `scrypt$N$r$p$salt$hash`: earlier releases' form.
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, 'base64');
  const key = await scryptKey(password, Buffer.from(saltB64, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
