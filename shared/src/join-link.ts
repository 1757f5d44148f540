// Join links: how a laptop, phone or tablet enters one meeting at one site.
//
// An operator with scope over the site asks the fleet for a link; the fleet
// signs its claims (meeting, site, role, expiry) with its join-link key, an
// ed25519 key kept in its registry. Every edge learns the public half from its
// media plan (`joinKey`), which reaches it over the box's authenticated MQTT
// session and its agent, so an edge trusts exactly what its fleet signed. The
// edge checks the signature, the expiry, that the link names the meeting asked
// for, that the meeting is open on it, and that it is the edge of the named
// site; it holds no secret that could mint a link.
//
// Form: `<claims>.<signature>`, both base64url (the claims are JSON). It rides
// in the join page's URL and then as `Authorization: Bearer <link>`.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' });

/** participant: sends camera and microphone and may ask to speak; listener: receives only. */
export const JoinRoleSchema = Type.Union([Type.Literal('participant'), Type.Literal('listener')]);
export type JoinRole = Static<typeof JoinRoleSchema>;

/**
 * What a link may be for. Besides the two roles an operator asks for, the
 * fleet signs `monitor` links itself, for the chair's console during a roll
 * call: it receives the picture of the site being called and nothing else
 * (one video stream, no sound, never sends). An edge that does not know the
 * role refuses the link as malformed: fail closed.
 */
export const JoinClaimRoleSchema = Type.Union([JoinRoleSchema, Type.Literal('monitor')]);
export type JoinClaimRole = Static<typeof JoinClaimRoleSchema>;

/** A link's own id (its `jti`): what the audit log, the listing and a revocation name, never the link. */
export const JoinLinkIdSchema = Type.String({ pattern: '^[A-Za-z0-9_-]{8,32}$' });

/**
 * Revoked links not yet expired, per meeting and site, that a plan can carry.
 * The fleet refuses a revocation past it (the operator ends the meeting or
 * waits for links to expire), so the list an edge gets is always complete.
 */
export const MAX_REVOKED_LINKS = 256;

export const JoinClaimsSchema = Type.Object(
  {
    v: Type.Literal(1),
    meetingId: Id,
    siteId: Id,
    role: JoinClaimRoleSchema,
    /** Issued and expires, epoch seconds. */
    iat: Type.Integer({ minimum: 0 }),
    exp: Type.Integer({ minimum: 0 }),
    /** This link's own id (logs, audit, revocation). */
    jti: JoinLinkIdSchema,
  },
  { additionalProperties: false },
);
export type JoinClaims = Static<typeof JoinClaimsSchema>;
const claimsCodec = codec(JoinClaimsSchema);

/** Longer than any link the fleet makes: anything past it is refused unread. */
export const MAX_JOIN_LINK_CHARS = 1024;

export type JoinLinkCheck =
  | { ok: true; claims: JoinClaims }
  | { ok: false; reason: 'join-link-malformed' | 'join-link-signature' | 'join-link-expired'; detail: string };

/** A fresh ed25519 pair as PEM (PKCS#8 private, SPKI public). */
export function joinKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The public half of a PKCS#8 PEM private key, as SPKI PEM (what plans carry). */
export function joinPublicKey(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}

export function newJoinLinkId(): string {
  return randomBytes(12).toString('base64url');
}

/** Signs the claims with the fleet's join-link key (PKCS#8 PEM). */
export function signJoinLink(claims: JoinClaims, privateKeyPem: string): string {
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  const sig = sign(null, Buffer.from(payload, 'ascii'), createPrivateKey(privateKeyPem)).toString('base64url');
  return `${payload}.${sig}`;
}

/**
 * Checks form, signature (against the fleet's SPKI PEM key) and expiry. What
 * the claims must match (meeting, site) is the edge's to check, since only it
 * knows which meeting was asked for and which site it serves.
 */
export function verifyJoinLink(link: string, publicKeyPem: string, nowMs: number): JoinLinkCheck {
  if (link.length > MAX_JOIN_LINK_CHARS)
    return { ok: false, reason: 'join-link-malformed', detail: 'the join link is too long' };
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(link);
  if (!m) return { ok: false, reason: 'join-link-malformed', detail: 'not a join link' };
  let good: boolean;
  try {
    good = verify(null, Buffer.from(m[1]!, 'ascii'), createPublicKey(publicKeyPem), Buffer.from(m[2]!, 'base64url'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'join-link-signature', detail: 'the join link was not signed by the fleet' };
  const claims = claimsCodec.decode(Buffer.from(m[1]!, 'base64url').toString('utf8'));
  if (!claims.ok) return { ok: false, reason: 'join-link-malformed', detail: 'the join link names no meeting' };
  if (claims.value.exp * 1000 <= nowMs) {
    return {
      ok: false,
      reason: 'join-link-expired',
      detail: `the join link expired at ${new Date(claims.value.exp * 1000).toISOString()}`,
    };
  }
  return { ok: true, claims: claims.value };
}

/** The claims without checking anything (the join page shows what a link is for). */
export function readJoinClaims(link: string): JoinClaims | null {
  const payload = /^([A-Za-z0-9_-]+)\./.exec(link)?.[1];
  if (!payload) return null;
  const d = claimsCodec.decode(Buffer.from(payload, 'base64url').toString('utf8'));
  return d.ok ? d.value : null;
}
