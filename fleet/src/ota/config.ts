// Settings of the OTA area, validated once with defaults in the schema; each
// plain setting can come from the environment.
import fs from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DiemcauError, keyIdOf, type TrustedKey } from '@diemcau/shared';

export const OtaConfigSchema = Type.Object({
  /**
   * Public keys releases must be signed with: a JSON file of
   * [{ keyId, publicKeyPem }] or a single SPKI PEM file (its keyId derived).
   * Without one the fleet accepts no release.
   */
  trustedKeysFile: Type.Optional(Type.String({ minLength: 1 })),
  /** The fleet's HTTP base URL as boxes reach it; default: each box uses the URL it enrolled with. */
  publicUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** How often rollouts are planned again (reports also trigger a round). */
  tickMs: Type.Integer({ minimum: 0, default: 5000 }),
  /** Serve commune boxes from their district box's cache when it has announced one. */
  districtCaches: Type.Boolean({ default: true }),
});
export type OtaConfig = Static<typeof OtaConfigSchema>;

export const OTA_ENV = {
  trustedKeysFile: 'DIEMCAU_OTA_TRUSTED_KEYS',
  publicUrl: 'DIEMCAU_OTA_PUBLIC_URL',
  tickMs: 'DIEMCAU_OTA_TICK_MS',
  districtCaches: 'DIEMCAU_OTA_DISTRICT_CACHES',
} as const satisfies Record<keyof OtaConfig, string>;

export function otaConfigFromEnv(env: NodeJS.ProcessEnv): Partial<Record<keyof OtaConfig, unknown>> {
  const out: Partial<Record<keyof OtaConfig, unknown>> = {};
  for (const [k, name] of Object.entries(OTA_ENV) as [keyof OtaConfig, string][]) if (env[name] !== undefined) out[k] = env[name];
  return out;
}

export function otaConfig(input: Partial<Record<keyof OtaConfig, unknown>> = {}): OtaConfig {
  const value = Value.Default(OtaConfigSchema, Value.Convert(OtaConfigSchema, structuredClone(input)));
  const problems = [...Value.Errors(OtaConfigSchema, value)].map((e) => `${e.path}: ${e.message}`);
  if (problems.length > 0) throw new DiemcauError('FLEET_ERR_CONFIG', `ota: ${problems.join('; ')}`, { details: problems });
  return value as OtaConfig;
}

/** Reads the trusted keys file; a missing setting means no key (every upload refused). */
export function loadTrustedKeys(file: string | undefined): TrustedKey[] {
  if (!file) return [];
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new DiemcauError('FLEET_ERR_CONFIG', `ota: cannot read trusted keys ${file}`, { cause: err });
  }
  if (text.trimStart().startsWith('-----BEGIN PUBLIC KEY')) return [{ keyId: keyIdOf(text), publicKeyPem: text }];
  try {
    const parsed = JSON.parse(text) as TrustedKey[];
    if (!Array.isArray(parsed) || !parsed.every((k) => typeof k.keyId === 'string' && typeof k.publicKeyPem === 'string')) throw new Error('not a key list');
    return parsed;
  } catch (err) {
    throw new DiemcauError('FLEET_ERR_CONFIG', `ota: ${file} is neither a PEM public key nor [{ keyId, publicKeyPem }]`, { cause: err });
  }
}
