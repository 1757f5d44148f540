// The updater's settings on a box, read once from the environment with
// defaults; every host path can be overridden.
import path from 'node:path';
import { DiemcauError } from '@diemcau/shared';

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
}

export function otaConfigFromEnv(env: NodeJS.ProcessEnv, dataDir: string): OtaAgentConfig {
  const problems: string[] = [];
  const int = (name: string, def: number | null, min: number): number | null => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      problems.push(`${name}: expected an integer >= ${min}, got ${JSON.stringify(raw)}`);
      return def;
    }
    return n;
  };
  const cfg: OtaAgentConfig = {
    root: env.DIEMCAU_OTA_ROOT ?? '/opt/diemcau',
    stateDir: env.DIEMCAU_OTA_STATE_DIR ?? path.join(dataDir, 'ota'),
    trustedKeysFile: env.DIEMCAU_OTA_TRUSTED_KEYS ?? '/etc/diemcau/trusted-keys.json',
    healthTimeoutMs: (int('DIEMCAU_OTA_HEALTH_TIMEOUT_SEC', 300, 5) ?? 300) * 1000,
    cachePort: int('DIEMCAU_OTA_CACHE_PORT', null, 0),
    cacheHost: env.DIEMCAU_OTA_CACHE_HOST ?? '127.0.0.1',
    cacheUrl: env.DIEMCAU_OTA_CACHE_URL ?? null,
    freeBytes: int('DIEMCAU_OTA_FREE_BYTES', null, 0),
  };
  if (problems.length > 0) throw new DiemcauError('APPL_ERR_CONFIG', `ota: ${problems.join('; ')}`, { details: { problems } });
  return cfg;
}
