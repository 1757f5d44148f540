// Over-the-air updates: the signed release manifest, the desired release the
// fleet retains on a device's 'desired' channel, and the status a device
// reports on its 'ota' channel. Signing and verifying live here too, because
// the release builder signs, the fleet checks uploads and every box checks
// again before touching anything; all three must agree on the exact bytes.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { codec } from './codec.js';
import { DiemcauError } from './errors.js';

// Semantic versioning without build metadata, as semver.org spells it: no
// leading zeros, so that two strings never name the same version (the fleet
// keys releases by this string, and "1.02.0" must not be a second "1.2.0").
const NUM = '(?:0|[1-9]\\d*)';
const PRE_ID = `(?:${NUM}|\\d*[A-Za-z-][0-9A-Za-z-]*)`;
export const VersionSchema = Type.String({
  pattern: `^${NUM}\\.${NUM}\\.${NUM}(?:-${PRE_ID}(?:\\.${PRE_ID})*)?$`,
  maxLength: 64,
});
const Sha256Schema = Type.String({ pattern: '^[0-9a-f]{64}$' });

/** A Debian package by its binary name (e.g. libsrtp2-1), optionally at least a version (dpkg's ordering). */
export const DebianRequirementSchema = Type.Object({
  package: Type.String({ pattern: '^[a-z0-9][a-z0-9+.-]{1,99}$' }),
  minVersion: Type.Optional(Type.String({ pattern: '^[0-9A-Za-z.+~:-]{1,128}$' })),
});
export type DebianRequirement = Static<typeof DebianRequirementSchema>;

// A function so the schema object is built where it is used (TypeBox objects are plain data).
const ReleaseRequirementsSchema = () =>
  Type.Object({
    /** Node's process.arch the native parts were built for (x64, arm64). */
    arch: Type.Optional(Type.String({ pattern: '^[a-z0-9_]{1,16}$' })),
    /** Node's ABI (process.versions.modules) the addons were built against: Node itself comes from the image. */
    nodeAbi: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
    /** Debian libraries the native parts link against at run time. */
    debian: Type.Array(DebianRequirementSchema, { maxItems: 64 }),
  });
export type ReleaseRequirements = Static<ReturnType<typeof ReleaseRequirementsSchema>>;

/** One requirement a box does not meet, as it reports it (APPL_ERR_OTA_REQUIREMENTS). */
export const UnmetRequirementSchema = Type.Object({
  kind: Type.Union([Type.Literal('debian'), Type.Literal('arch'), Type.Literal('node-abi')]),
  /** The package name, or 'arch' / 'node-abi'. */
  name: Type.String({ maxLength: 100 }),
  /** The version or value the release needs (null: any version of the package). */
  need: Type.Union([Type.String({ maxLength: 128 }), Type.Null()]),
  /** What the box has (null: not installed, or it could not tell). */
  have: Type.Union([Type.String({ maxLength: 128 }), Type.Null()]),
});
export type UnmetRequirement = Static<typeof UnmetRequirementSchema>;

/** What is inside a release. Signed as the exact JSON text in `SignedManifest.payload`. */
export const ReleaseManifestSchema = Type.Object({
  v: Type.Literal(1),
  version: VersionSchema,
  /** File name of the artifact (a gzip'd tar holding agent.mjs, package.json, ...). */
  artifact: Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$' }),
  sha256: Sha256Schema,
  size: Type.Integer({ minimum: 1 }),
  /** Bytes once unpacked, so a box can check free disk before downloading. */
  unpackedSize: Type.Integer({ minimum: 0 }),
  /** A box running an older agent must not take this release (its updater may not understand it). */
  minAgentVersion: VersionSchema,
  created: Type.String({ format: 'date-time' }),
  /** File inside the artifact that the service starts. */
  entry: Type.String({ minLength: 1, maxLength: 128 }),
  /** Native modules the release carries in its own node_modules (versions/<v>/node_modules), with their versions. */
  native: Type.Array(Type.Object({ name: Type.String({ maxLength: 128 }), version: Type.String({ maxLength: 64 }) }), {
    maxItems: 32,
  }),
  /**
   * What the box must have for the release's native parts (the mediasoup
   * worker, the addons) to load: signed like the rest, so nobody can loosen
   * it. A box that lacks any of it refuses the release before downloading
   * (APPL_ERR_OTA_REQUIREMENTS) and keeps what it runs.
   */
  requires: Type.Optional(ReleaseRequirementsSchema()),
  /**
   * How this release's media edges speak to each other on pipe links: the
   * SRTP suites their pipe transports accept. Two edges link only if they
   * share one (mediasoup 3.8 pipes speak AES_CM_128_HMAC_SHA1_80 only, 3.10
   * and later AEAD_AES_256_GCM only). Absent: a release from before the
   * field, all of which carried mediasoup 3.8.
   */
  mediaLink: Type.Optional(
    Type.Object({
      srtpSuites: Type.Array(Type.String({ pattern: '^[A-Z0-9_]{1,40}$' }), { minItems: 1, maxItems: 4 }),
    }),
  ),
  notes: Type.Optional(Type.String({ maxLength: 2000 })),
  /**
   * An emergency rollback: the exact versions this (older) release may
   * replace. Inside the signed payload, so only the release manager can
   * grant it; without it no box and no fleet lets a release replace a newer one.
   */
  allowDowngradeFrom: Type.Optional(Type.Array(VersionSchema, { minItems: 1, maxItems: 32 })),
});
export type ReleaseManifest = Static<typeof ReleaseManifestSchema>;
export const releaseManifestCodec = codec(ReleaseManifestSchema);

export const SignedManifestSchema = Type.Object({
  v: Type.Literal(1),
  keyId: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
  /** The manifest as JSON text: signatures cover these bytes, never a re-serialisation. */
  payload: Type.String({ minLength: 2, maxLength: 16384 }),
  /** ed25519 signature over `payload` (UTF-8), base64. */
  signature: Type.String({ pattern: '^[A-Za-z0-9+/]+={0,2}$', maxLength: 200 }),
});
export type SignedManifest = Static<typeof SignedManifestSchema>;
export const signedManifestCodec = codec(SignedManifestSchema);

/**
 * Fleet → device, inside the retained message on the 'desired' channel under
 * the key `release`. `urls` are tried in order: the district cache first when
 * there is one, then the fleet; each is the full artifact URL.
 */
export const DesiredReleaseSchema = Type.Object({
  v: Type.Literal(1),
  version: VersionSchema,
  manifest: SignedManifestSchema,
  urls: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1, maxItems: 4 }),
  rolloutId: Type.Optional(Type.String({ maxLength: 64 })),
  /** Bytes per second; absent means no limit. */
  bandwidthLimit: Type.Optional(Type.Integer({ minimum: 1024 })),
});
export type DesiredRelease = Static<typeof DesiredReleaseSchema>;
export const desiredReleaseCodec = codec(DesiredReleaseSchema);

/** The 'desired' message carries other settings too; OTA reads only `release`. */
export const DesiredWithReleaseSchema = Type.Object({
  v: Type.Literal(1),
  release: Type.Optional(Type.Union([DesiredReleaseSchema, Type.Null()])),
});
export const desiredWithReleaseCodec = codec(DesiredWithReleaseSchema);

export const OTA_STATES = [
  'idle',
  'downloading',
  'verifying',
  'installing',
  'switching',
  'health-check',
  'committed',
  'rolled-back',
  'failed',
] as const;
export type OtaState = (typeof OTA_STATES)[number];

/** Device → fleet on the 'ota' channel: progress while working, then the outcome. */
export const OtaStatusSchema = Type.Object({
  v: Type.Literal(1),
  at: Type.String({ format: 'date-time' }),
  state: Type.Union(OTA_STATES.map((s) => Type.Literal(s))),
  /** The version the box runs now. */
  current: VersionSchema,
  /** The version being worked on (absent when idle). */
  target: Type.Optional(VersionSchema),
  rolloutId: Type.Optional(Type.String({ maxLength: 64 })),
  progress: Type.Optional(Type.Object({ bytes: Type.Integer({ minimum: 0 }), total: Type.Integer({ minimum: 0 }) })),
  /** Why it failed or rolled back, with a stable error code. */
  error: Type.Optional(
    Type.Object({
      code: Type.String({ maxLength: 64 }),
      message: Type.String({ maxLength: 1000 }),
      /** APPL_ERR_OTA_REQUIREMENTS: what the box lacks, one entry per requirement. */
      unmet: Type.Optional(Type.Array(UnmetRequirementSchema, { maxItems: 64 })),
    }),
  ),
  /** A district box that serves cached artifacts to its communes says where. */
  cacheUrl: Type.Optional(Type.String({ maxLength: 2048 })),
});
export type OtaStatus = Static<typeof OtaStatusSchema>;
export const otaStatusCodec = codec(OtaStatusSchema);

/** What a manifest without `mediaLink` speaks: every release before the field carried mediasoup 3.8. */
export const LEGACY_MEDIA_LINK_SUITES: readonly string[] = ['AES_CM_128_HMAC_SHA1_80'];

/** Can edges on these two releases link? They must share an SRTP suite on their pipes. */
export function mediaLinksCompatible(
  a: Pick<ReleaseManifest, 'mediaLink'>,
  b: Pick<ReleaseManifest, 'mediaLink'>,
): boolean {
  const sa = a.mediaLink?.srtpSuites ?? LEGACY_MEDIA_LINK_SUITES;
  const sb = b.mediaLink?.srtpSuites ?? LEGACY_MEDIA_LINK_SUITES;
  return sa.some((x) => sb.includes(x));
}

/** Final states: the fleet counts these for a rollout's progress and failure rate. */
export const isOtaOutcome = (s: OtaState): boolean => s === 'committed' || s === 'rolled-back' || s === 'failed';

// ---- versions ----

/**
 * Semantic versioning precedence (semver.org 2.0.0, section 11): major,
 * minor, patch numerically; a pre-release sorts before its release; its
 * dot-separated fields compare numerically when both are numbers, as text
 * otherwise, a number before text, and a longer list after its prefix.
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string): [number[], string[]] => {
    const dash = v.indexOf('-');
    const core = dash < 0 ? v : v.slice(0, dash);
    return [core.split('.').map((n) => Number.parseInt(n, 10) || 0), dash < 0 ? [] : v.slice(dash + 1).split('.')];
  };
  const [ac, ap] = split(a);
  const [bc, bp] = split(b);
  for (let i = 0; i < 3; i++) {
    const d = (ac[i] ?? 0) - (bc[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (ap.length === 0 || bp.length === 0) return Math.sign(bp.length - ap.length);
  const numeric = /^\d+$/;
  for (let i = 0; i < Math.min(ap.length, bp.length); i++) {
    const x = ap[i]!;
    const y = bp[i]!;
    if (x === y) continue;
    const xn = numeric.test(x);
    const yn = numeric.test(y);
    if (xn && yn) return Math.sign(Number(x) - Number(y)) || (x < y ? -1 : 1);
    if (xn !== yn) return xn ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return Math.sign(ap.length - bp.length);
}

/**
 * The one downgrade rule, applied by the fleet before a rollout and by every
 * box before it downloads: a release older than what the box runs is
 * refused unless its signed manifest names that version in
 * `allowDowngradeFrom`. A box also passes `highest`, the highest version it
 * has run: after a rollback it takes nothing up to the version it was rolled
 * back from (that one, or an older release between, could be replayed
 * otherwise), only something newer or another rollback signed from where it
 * stands. Returns why it is refused, or null when allowed. `current` null (a
 * box that has not said) leaves the decision to the box.
 */
export function downgradeRefusal(
  manifest: ReleaseManifest,
  current: string | null,
  highest: string | null = null,
): string | null {
  if (current === null) return null;
  const from = manifest.allowDowngradeFrom;
  if (from?.some((v) => compareVersions(v, current) === 0)) return null;
  if (compareVersions(manifest.version, current) < 0) {
    return from
      ? `release ${manifest.version} is older than ${current}, and its signed rollback covers only ${from.join(', ')}`
      : `release ${manifest.version} is older than ${current} and is not a signed rollback`;
  }
  if (highest !== null && compareVersions(highest, current) > 0 && compareVersions(manifest.version, highest) <= 0) {
    return `release ${manifest.version} is not newer than ${highest}, which this box ran before it was rolled back to ${current}`;
  }
  return null;
}

// ---- signing (ed25519, node:crypto only) ----

export interface TrustedKey {
  keyId: string;
  /** SPKI PEM of an ed25519 public key. */
  publicKeyPem: string;
}

/** Signs a manifest with a PKCS#8 PEM ed25519 private key. */
export function signManifest(manifest: ReleaseManifest, keyId: string, privateKeyPem: string): SignedManifest {
  const payload = JSON.stringify(manifest);
  const key = createPrivateKey(privateKeyPem);
  const signature = sign(null, Buffer.from(payload, 'utf8'), key).toString('base64');
  return { v: 1, keyId, payload, signature };
}

/**
 * Checks the signature against the trusted keys and parses the manifest.
 * Throws APPL_ERR_OTA_SIGNATURE for an unknown key, a bad signature or a
 * payload that is not a manifest: a box must treat all three the same way.
 */
export function verifyManifest(signed: SignedManifest, trusted: readonly TrustedKey[]): ReleaseManifest {
  const key = trusted.find((k) => k.keyId === signed.keyId);
  if (!key) throw new DiemcauError('APPL_ERR_OTA_SIGNATURE', `key ${signed.keyId} is not trusted`);
  let pub: KeyObject;
  try {
    pub = createPublicKey(key.publicKeyPem);
  } catch (err) {
    throw new DiemcauError('APPL_ERR_OTA_SIGNATURE', `trusted key ${key.keyId} is unreadable`, { cause: err });
  }
  const ok = verify(null, Buffer.from(signed.payload, 'utf8'), pub, Buffer.from(signed.signature, 'base64'));
  if (!ok) throw new DiemcauError('APPL_ERR_OTA_SIGNATURE', `signature does not match (key ${signed.keyId})`);
  const parsed = releaseManifestCodec.decode(signed.payload);
  if (!parsed.ok)
    throw new DiemcauError('APPL_ERR_OTA_SIGNATURE', 'signed payload is not a manifest', { cause: parsed.error });
  return parsed.value;
}

/** A short id for a public key: the first 16 hex digits of the SHA-256 of its DER. */
export function keyIdOf(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

// ---- HTTP byte ranges (the fleet and the district caches serve, boxes resume) ----

/**
 * Parses a single `bytes=` range against a size. Returns null when the header
 * is absent or not a single byte range (serve the whole file), 'unsatisfiable'
 * for a range past the end (416).
 */
export function parseByteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
