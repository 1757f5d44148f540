// Settings of the OTA area: the `ota` section of the fleet's tree (config.ts),
// each with its variable beside it; read by main.ts only.
import fs from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { DiemcauError, keyIdOf, loadSettings, settingsSection, type TrustedKey } from '@diemcau/shared';

export const OtaConfigSchema = settingsSection(
  {
    // A JSON file of [{ keyId, publicKeyPem }] or a single SPKI PEM file (its keyId derived).
    trustedKeysFile: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_OTA_TRUSTED_KEYS',
        description: 'public keys releases must be signed with; unset: every release upload is refused',
      }),
    ),
    publicUrl: Type.Optional(
      Type.String({
        pattern: '^https?://',
        env: 'DIEMCAU_OTA_PUBLIC_URL',
        description: "the fleet's HTTP base URL as boxes reach it; unset: each box uses the URL it enrolled with",
      }),
    ),
    tickMs: Type.Integer({
      minimum: 0,
      default: 5000,
      env: 'DIEMCAU_OTA_TICK_MS',
      description: 'rollouts are planned again this often (reports also trigger a round)',
    }),
    districtCaches: Type.Boolean({
      default: true,
      env: 'DIEMCAU_OTA_DISTRICT_CACHES',
      description: "serve commune boxes from their district box's cache when it has announced one",
    }),
    // Where a province runs balenaCloud or openBalena (images/balena), balena
    // delivers the containers and the same rollout planner pins its devices.
    driver: Type.Union([Type.Literal('mqtt'), Type.Literal('balena')], {
      default: 'mqtt',
      env: 'DIEMCAU_OTA_DRIVER',
      description:
        "how a rollout reaches the boxes: 'mqtt' (the agent's own updater) or 'balena' (pin balena releases through balena-sdk)",
    }),
    balenaApiUrl: Type.String({
      pattern: '^https?://',
      default: 'https://api.balena-cloud.com/',
      env: 'DIEMCAU_OTA_BALENA_API_URL',
      description: 'balena driver: the balenaCloud or openBalena API',
    }),
    balenaTokenFile: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_OTA_BALENA_TOKEN_FILE',
        description: 'balena driver: a file holding the balena API key (required with the balena driver)',
      }),
    ),
    balenaFleet: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$',
        env: 'DIEMCAU_OTA_BALENA_FLEET',
        description:
          'balena driver: the balena fleet slug, e.g. yenbai/diemcau-agent (required with the balena driver)',
      }),
    ),
    balenaReboot: Type.Boolean({
      default: false,
      env: 'DIEMCAU_OTA_BALENA_REBOOT',
      description: 'balena driver: reboot a device after pinning it',
    }),
  },
  'over-the-air updates',
);
export type OtaConfig = Static<typeof OtaConfigSchema>;

/** The section alone, validated with its defaults; the fleet's tree passes it whole. */
export function otaConfig(input: Partial<Record<keyof OtaConfig, unknown>> = {}): OtaConfig {
  return loadSettings(OtaConfigSchema, { values: structuredClone(input) }, 'FLEET_ERR_CONFIG').settings;
}

/** The balena driver's settings, checked at start: every problem at once. */
export function balenaSettings(cfg: OtaConfig): {
  apiUrl: string;
  token: string;
  application: string;
  reboot: boolean;
} {
  const problems: string[] = [];
  if (!cfg.balenaFleet) problems.push('DIEMCAU_OTA_BALENA_FLEET is not set');
  let token = '';
  if (!cfg.balenaTokenFile) problems.push('DIEMCAU_OTA_BALENA_TOKEN_FILE is not set');
  else {
    try {
      token = fs.readFileSync(cfg.balenaTokenFile, 'utf8').trim();
      if (!token) problems.push(`${cfg.balenaTokenFile} is empty`);
    } catch (err) {
      problems.push(`cannot read ${cfg.balenaTokenFile}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0)
    throw new DiemcauError('FLEET_ERR_CONFIG', `ota: the balena driver needs ${problems.join('; ')}`);
  return { apiUrl: cfg.balenaApiUrl, token, application: cfg.balenaFleet!, reboot: cfg.balenaReboot };
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
    if (
      !Array.isArray(parsed) ||
      !parsed.every((k) => typeof k.keyId === 'string' && typeof k.publicKeyPem === 'string')
    )
      throw new Error('not a key list');
    return parsed;
  } catch (err) {
    throw new DiemcauError(
      'FLEET_ERR_CONFIG',
      `ota: ${file} is neither a PEM public key nor [{ keyId, publicKeyPem }]`,
      { cause: err },
    );
  }
}
