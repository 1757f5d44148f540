// Moving a box to another fleet (two provinces' networks merged into one).
//
// A box learns its fleet's public key when it enrols (`trust` in the
// enrolment answer) and keeps it with its identity. Its fleet may later hand
// it over to another fleet with a statement retained on the box's 'move'
// channel: the new fleet's brokers, CA and key, the box's id and an expiry,
// signed with the old fleet's key. The box follows a statement only if that
// key signed it, it names this box, it has not expired, and it is newer than
// the last move the box followed; anything else is refused and reported.
// Without this rule a move would be a takeover path: whoever can publish on
// the box's topic (a broker of the box's own cluster, a stolen admin token)
// could send every box to a broker of their choosing.
//
// The statement travels as the exact JSON text it was signed over, like a
// release manifest (ota.ts): the signature covers those bytes, never a
// re-serialisation.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';

/** A fleet's own key, as a box keeps it from enrolment: the only key it takes a move from. */
export const FleetTrustSchema = Type.Object({
  fleetId: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
  /** SPKI PEM of an ed25519 public key. */
  publicKey: Type.String({ minLength: 40, maxLength: 1024 }),
});
export type FleetTrust = Static<typeof FleetTrustSchema>;

const UrlSchema = Type.String({ minLength: 1, maxLength: 2048 });

/** What the old fleet signs: where one box goes, until when. */
export const MoveStatementSchema = Type.Object({
  v: Type.Literal(1),
  kind: Type.Literal('fleet-move'),
  /** Unique per statement; the box reports it back. */
  moveId: Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' }),
  deviceId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  /** The fleet that signs (the box's fleet now). */
  fromFleetId: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
  issuedAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  to: Type.Object({
    /** The new fleet's key: the box takes its next move from this key only. */
    trust: FleetTrustSchema,
    /** The new fleet's HTTP address (release downloads with relative URLs). */
    fleetUrl: UrlSchema,
    /** Every broker of the new fleet, the first tried first. */
    mqttUrls: Type.Array(UrlSchema, { minItems: 1, maxItems: 16 }),
    /** PEM of the CA the new fleet's brokers present (mqtts://); absent: plain MQTT or the system store. */
    caCert: Type.Optional(Type.String({ minLength: 1, maxLength: 16384 })),
  }),
});
export type MoveStatement = Static<typeof MoveStatementSchema>;
const statementCodec = codec(MoveStatementSchema);

/** Fleet → device, retained on the device's 'move' channel. */
export const SignedMoveSchema = Type.Object({
  v: Type.Literal(1),
  /** The statement as JSON text: the signature covers these bytes. */
  payload: Type.String({ minLength: 2, maxLength: 32768 }),
  /** ed25519 over `payload` (UTF-8), base64. */
  signature: Type.String({ pattern: '^[A-Za-z0-9+/]+={0,2}$', maxLength: 200 }),
});
export type SignedMove = Static<typeof SignedMoveSchema>;
export const signedMoveCodec = codec(SignedMoveSchema);

/** A new fleet key pair, PEM (SPKI public, PKCS#8 private). */
export function newFleetKeyPair(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export const newMoveId = (): string => randomBytes(12).toString('base64url');

export function signMove(statement: MoveStatement, privateKeyPem: string): SignedMove {
  const payload = JSON.stringify(statement);
  const signature = sign(null, Buffer.from(payload, 'utf8'), createPrivateKey(privateKeyPem)).toString('base64');
  return { v: 1, payload, signature };
}

export type MoveRefusal =
  | 'malformed' // not a signed statement at all (unsigned, cut, wrong shape)
  | 'no-trust' // the box keeps no fleet key (enrolled before keys existed): nothing can sign for it
  | 'bad-signature' // not signed by the key the box trusts
  | 'other-device' // signed, but for another box
  | 'expired'
  | 'not-yet-valid' // issued in the future beyond the clock skew allowed
  | 'replayed'; // not newer than the last move the box followed

/** What the box remembers of the last move it followed. */
export interface MoveMemory {
  moveId: string;
  issuedAt: string;
}

export type MoveCheck =
  | { ok: true; statement: MoveStatement; already: boolean }
  | { ok: false; reason: MoveRefusal; detail: string; moveId?: string };

/** Boxes' clocks drift; a statement issued up to this far ahead is still taken. */
const SKEW_MS = 5 * 60_000;

/**
 * The box's rule, pure: may this box (`deviceId`, trusting `trust`, having
 * followed `last`) follow `message` at `now`? `already` is true for the very
 * move the box followed last (a redelivery of the retained message): nothing
 * to do, nothing to report.
 */
export function checkMove(
  message: Buffer | string,
  box: { deviceId: string; trust: FleetTrust | undefined; last: MoveMemory | undefined },
  now: number,
): MoveCheck {
  const d = signedMoveCodec.decode(message);
  if (!d.ok) return { ok: false, reason: 'malformed', detail: d.error.message };
  const claimed = statementCodec.decode(d.value.payload);
  const moveId = claimed.ok ? claimed.value.moveId : undefined;
  const refuse = (reason: MoveRefusal, detail: string): MoveCheck => ({
    ok: false,
    reason,
    detail,
    ...(moveId ? { moveId } : {}),
  });
  if (!claimed.ok) return refuse('malformed', `the signed payload is not a move statement: ${claimed.error.message}`);
  const s = claimed.value;
  if (box.last && s.moveId === box.last.moveId) return { ok: true, statement: s, already: true };
  if (!box.trust) return refuse('no-trust', 'this box keeps no fleet key from its enrolment');
  let signed = false;
  try {
    signed = verify(
      null,
      Buffer.from(d.value.payload, 'utf8'),
      createPublicKey(box.trust.publicKey),
      Buffer.from(d.value.signature, 'base64'),
    );
  } catch {
    signed = false;
  }
  if (!signed) return refuse('bad-signature', `not signed by the key of fleet ${box.trust.fleetId}`);
  if (s.deviceId !== box.deviceId) return refuse('other-device', `the statement names ${s.deviceId}`);
  const issued = Date.parse(s.issuedAt);
  if (Date.parse(s.expiresAt) <= now) return refuse('expired', `expired at ${s.expiresAt}`);
  if (issued > now + SKEW_MS) return refuse('not-yet-valid', `issued at ${s.issuedAt}`);
  if (box.last && issued <= Date.parse(box.last.issuedAt))
    return refuse('replayed', `not newer than the move ${box.last.moveId} followed before`);
  return { ok: true, statement: s, already: false };
}
