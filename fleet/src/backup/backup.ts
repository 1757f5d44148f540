// An online backup of a fleet, taken while it runs: the registry (devices
// and their credential hashes, sites, operators, the audit log, alerts,
// commands, rollouts, meetings, telemetry) as one consistent point in time
// however many writes the running fleet makes meanwhile (an embedded fleet:
// SQLite's online backup API; a cluster: pg_dump of an exported snapshot,
// postgres.ts); then the release artifacts that snapshot says are ready, each
// checked against its signed SHA-256; then the key files the settings name
// (release trust, the fleet's TLS certificate, key and CA). All in one gzip'd
// tar with a manifest of sizes and hashes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { DiemcauError } from '@diemcau/shared';
import type { FleetConfig } from '../config.js';
import {
  MANIFEST_ENTRY,
  REGISTRY_ENTRIES,
  backupManifestCodec,
  plannedKeys,
  type BackupFile,
  type BackupManifest,
} from './manifest.js';
import { COUNTED, dumpPostgres, type RegistrySnapshot } from './postgres.js';

export interface BackupResult {
  file: string;
  bytes: number;
  manifest: BackupManifest;
}

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * Backs up the fleet the settings describe into `out` (written whole, then
 * renamed into place). `env` is the environment pg_dump runs in (its PATH is
 * searched for it), for a fleet on PostgreSQL.
 */
export async function backupFleet(
  config: FleetConfig,
  out: string,
  log: Logger,
  env: NodeJS.ProcessEnv = {},
): Promise<BackupResult> {
  const engine = config.databaseUrl !== undefined ? 'postgres' : 'sqlite';
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-backup-'));
  try {
    const files: BackupFile[] = [];
    const add = (rel: string, role: BackupFile['role'], extra: Partial<BackupFile> = {}): void => {
      const abs = path.join(staging, rel);
      files.push({ path: rel, role, size: fs.statSync(abs).size, sha256: sha256(abs), ...extra });
    };

    const started = Date.now();
    const registry = path.join(staging, REGISTRY_ENTRIES[engine]);
    let snap: RegistrySnapshot;
    let postgres: BackupManifest['postgres'];
    if (config.databaseUrl !== undefined) {
      const d = await dumpPostgres(config.databaseUrl, registry, { dir: config.pgToolsDir, env }, log);
      snap = d;
      postgres = { server: d.server, pgDump: d.pgDump, tables: d.tables };
    } else {
      snap = await snapshotSqlite(config, registry);
    }
    const { counts, ready } = snap;
    add(REGISTRY_ENTRIES[engine], 'registry');
    log.info({ engine, ms: Date.now() - started, counts, bytes: files[0]!.size }, 'registry snapshot taken');

    // The artifacts of the releases the snapshot knows as ready; a damaged one stops the backup.
    for (const r of ready) {
      const m = JSON.parse(r.manifest) as { artifact: string; sha256: string };
      const rel = `releases/${r.version}/${m.artifact}`;
      const src = path.resolve(config.dataDir, rel);
      fs.mkdirSync(path.dirname(path.join(staging, rel)), { recursive: true });
      try {
        fs.copyFileSync(src, path.join(staging, rel));
      } catch (err) {
        throw new DiemcauError('FLEET_ERR_BACKUP', `release ${r.version}: cannot read its artifact ${src}`, {
          cause: err,
        });
      }
      add(rel, 'release');
      if (files.at(-1)!.sha256 !== m.sha256)
        throw new DiemcauError('FLEET_ERR_BACKUP', `release ${r.version}: ${src} does not match its signed SHA-256`);
    }

    // The key files the settings point at.
    fs.mkdirSync(path.join(staging, 'keys'));
    for (const k of plannedKeys(config)) {
      try {
        fs.copyFileSync(k.source, path.join(staging, k.entry));
      } catch (err) {
        throw new DiemcauError('FLEET_ERR_BACKUP', `${k.setting}: cannot read ${k.source}`, { cause: err });
      }
      fs.chmodSync(path.join(staging, k.entry), 0o600);
      add(k.entry, 'key', { setting: k.setting, secret: k.secret });
    }

    const manifest: BackupManifest = {
      v: 1,
      kind: 'diemcau-fleet-backup',
      created: new Date().toISOString(),
      engine,
      ...(postgres ? { postgres } : {}),
      counts,
      files,
    };
    const checked = backupManifestCodec.check(manifest);
    if (!checked.ok) throw new DiemcauError('FLEET_ERR_BACKUP', `manifest: ${checked.error.message}`);
    fs.writeFileSync(path.join(staging, MANIFEST_ENTRY), `${JSON.stringify(manifest, null, 2)}\n`);

    const target = path.resolve(out);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.partial`;
    // Owner-only: the archive holds credential hashes and, with TLS, the fleet's private key.
    execFileSync('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mode=go-rwx',
      '-czf',
      tmp,
      '-C',
      staging,
      '.',
    ]);
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, target);
    const bytes = fs.statSync(target).size;
    log.info({ file: target, bytes, files: files.length }, 'backup written');
    return { file: target, bytes, manifest };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** The registry file through SQLite's backup API, checked, as one file at `dest`. */
async function snapshotSqlite(config: FleetConfig, dest: string): Promise<RegistrySnapshot> {
  if (config.dbFile === ':memory:')
    throw new DiemcauError(
      'FLEET_ERR_BACKUP',
      'the registry is in memory (DIEMCAU_DB_FILE=:memory:): nothing to back up',
    );
  const dbPath = path.resolve(config.dataDir, config.dbFile);
  if (!fs.existsSync(dbPath))
    throw new DiemcauError('FLEET_ERR_BACKUP', `no registry at ${dbPath} (DIEMCAU_DATA_DIR, DIEMCAU_DB_FILE)`);
  // SQLite's backup API copies page by page and starts over when the running fleet writes
  // meanwhile, so the copy is a snapshot at one commit.
  const live = new Database(dbPath, { fileMustExist: true });
  try {
    live.pragma('busy_timeout = 5000');
    await live.backup(dest);
  } finally {
    live.close();
  }
  const snap = new Database(dest);
  try {
    const check = snap.pragma('integrity_check', { simple: true });
    if (check !== 'ok')
      throw new DiemcauError('FLEET_ERR_BACKUP', `the registry's snapshot fails its integrity check: ${String(check)}`);
    const tables = new Set(
      (snap.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
        (r) => r.name,
      ),
    );
    const counts = Object.fromEntries(
      COUNTED.filter((t) => tables.has(t)).map((t) => [
        t,
        (snap.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n,
      ]),
    );
    const ready = tables.has('ota_releases')
      ? (snap.prepare('SELECT version, manifest FROM ota_releases WHERE artifact_ready = 1').all() as {
          version: string;
          manifest: string;
        }[])
      : [];
    // One file: the snapshot carries no WAL beside it.
    snap.pragma('journal_mode = DELETE');
    return { counts, ready };
  } finally {
    snap.close();
  }
}
