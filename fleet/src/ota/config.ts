// Settings of the OTA area: the `ota` section of the fleet's tree (config.ts),
// each with its variable beside it; read by main.ts only.
import fs from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { DiemcauError, keyIdOf, loadSettings, settingsSection, type TrustedKey } from '@diemcau/shared';

export const OtaConfigSchema = settingsSection(
  {
    // A JSON file of [{ keyId, publicKeyPem }] or a single SPKI PEM file (its keyId derived).
    trustedKeysFile: Type.Optional(Type.String({ minLength: 1, env: 'DIEMCAU_OTA_TRUSTED_KEYS', description: 'public keys releases must be signed with; unset: every release upload is refused' })),
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://', env: 'DIEMCAU_OTA_PUBLIC_URL', description: "the fleet's HTTP base URL as boxes reach it; unset: each box uses the URL it enrolled with" })),
    tickMs: Type.Integer({ minimum: 0, default: 5000, env: 'DIEMCAU_OTA_TICK_MS', description: 'rollouts are planned again this often (reports also trigger a round)' }),
    districtCaches: Type.Boolean({ default: true, env: 'DIEMCAU_OTA_DISTRICT_CACHES', description: "serve commune boxes from their district box's cache when it has announced one" }),
  },
  'over-the-air updates',
);
export type OtaConfig = Static<typeof OtaConfigSchema>;

/** The section alone, validated with its defaults; the fleet's tree passes it whole. */
export function otaConfig(input: Partial<Record<keyof OtaConfig, unknown>> = {}): OtaConfig {
  return loadSettings(OtaConfigSchema, { values: structuredClone(input) }, 'FLEET_ERR_CONFIG').settings;
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
