// The updater's settings on a box: the `ota` section of the agent's tree,
// read by main.ts with everything else before enrolment (a bad value stops
// the box at start, not after it enrolled); every host path can be overridden.
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { loadSettings, settingsSection, type Env } from '@diemcau/shared';

export const OtaSettingsSchema = settingsSection(
  {
    root: Type.String({
      minLength: 1,
      default: '/opt/diemcau',
      env: 'DIEMCAU_OTA_ROOT',
      description: 'where versions/, current and previous live (the unit runs current/agent.mjs)',
    }),
    stateDir: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_OTA_STATE_DIR',
        docDefault: '`<data dir>/ota`',
        description: 'update journal and downloads',
      }),
    ),
    trustedKeysFile: Type.String({
      minLength: 1,
      default: '/etc/diemcau/trusted-keys.json',
      env: 'DIEMCAU_OTA_TRUSTED_KEYS',
      description: 'JSON [{ keyId, publicKeyPem }] or one PEM public key: the only keys releases may be signed with',
    }),
    healthTimeoutSec: Type.Integer({
      minimum: 5,
      default: 300,
      env: 'DIEMCAU_OTA_HEALTH_TIMEOUT_SEC',
      description: 'a new version must reconnect and pass its self-test within this',
    }),
    cachePort: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 65535,
        env: 'DIEMCAU_OTA_CACHE_PORT',
        description: 'a district box serves release artifacts to its communes on this port (unset: no cache)',
      }),
    ),
    cacheHost: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      env: 'DIEMCAU_OTA_CACHE_HOST',
      description: 'address the cache listens on',
    }),
    cacheUrl: Type.Optional(
      Type.String({
        pattern: '^https?://',
        env: 'DIEMCAU_OTA_CACHE_URL',
        description: "the URL communes use for this box's cache (default http://<host>:<port>)",
      }),
    ),
    freeBytes: Type.Optional(
      Type.Integer({
        minimum: 0,
        env: 'DIEMCAU_OTA_FREE_BYTES',
        description: 'simulated free disk in bytes (tests, demo); unset: ask the filesystem',
      }),
    ),
    packagesFile: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_OTA_PACKAGES_FILE',
        description:
          "simulated installed Debian packages, lines '<package> <version>' (simulated hardware, tests); unset: ask dpkg-query",
      }),
    ),
    pauseFile: Type.Optional(
      Type.String({
        minLength: 1,
        env: 'DIEMCAU_OTA_PAUSE_FILE',
        description:
          'fault-injection tests only: a file naming an update checkpoint; the updater stops there once (unset on real boxes)',
      }),
    ),
  },
  'over-the-air updates on the box',
);
export type OtaSettings = Static<typeof OtaSettingsSchema>;

export interface OtaAgentConfig {
  /** Where versions/, current and previous live (the systemd unit runs current/agent.mjs). */
  root: string;
  /** Journal and downloads. */
  stateDir: string;
  /** JSON [{ keyId, publicKeyPem }] or one PEM public key: the only keys releases may be signed with. */
  trustedKeysFile: string;
  /** The new version must reconnect and pass its self-test within this. */
  healthTimeoutMs: number;
  /** A district box serving artifacts to its communes listens here (unset = no cache). */
  cachePort: number | null;
  cacheHost: string;
  /** The URL communes use for this box's cache (default http://<cacheHost>:<port>). */
  cacheUrl: string | null;
  /** Simulated free disk in bytes (tests, demo); unset = ask the filesystem. */
  freeBytes: number | null;
  /** Simulated installed Debian packages ('<package> <version>' lines); unset = ask dpkg-query. */
  packagesFile: string | null;
  /** Fault-injection tests: a file naming the checkpoint to stop at once (null: never stop). */
  pauseFile: string | null;
}

/** The updater's settings from the tree's section; paths default under the data dir. */
export function otaAgentConfig(s: OtaSettings, dataDir: string): OtaAgentConfig {
  return {
    root: s.root,
    stateDir: s.stateDir ?? path.join(dataDir, 'ota'),
    trustedKeysFile: s.trustedKeysFile,
    healthTimeoutMs: s.healthTimeoutSec * 1000,
    cachePort: s.cachePort ?? null,
    cacheHost: s.cacheHost,
    cacheUrl: s.cacheUrl ?? null,
    freeBytes: s.freeBytes ?? null,
    packagesFile: s.packagesFile ?? null,
    pauseFile: s.pauseFile ?? null,
  };
}

const SectionOnly = Type.Object({ ota: OtaSettingsSchema });

/**
 * The section alone from an env object: for ota-boot.mjs, a program of its own
 * that must run before the agent loads, and tests. Throws APPL_ERR_CONFIG
 * listing every problem.
 */
export function otaConfigFromEnv(env: Env, dataDir: string): OtaAgentConfig {
  return otaAgentConfig(loadSettings(SectionOnly, { env }, 'APPL_ERR_CONFIG').settings.ota, dataDir);
}
