// Restores a backup (backup.ts) into a fresh fleet: every file the manifest
// lists is checked against its size and SHA-256 before anything is put in
// place, and the registry must pass its store's own check (SQLite's integrity
// check; pg_restore reading the dump's table of contents). A restore never
// merges into, or overwrites, a fleet's state: a data dir that already holds
// a SQLite registry is refused, and so is a PostgreSQL database that is not
// empty unless the operator passes `overwrite`. The key files go to
// <dataDir>/keys/, and the settings that point the fleet at them are returned
// (and written to <dataDir>/keys/restored.env) since their old paths may not
// exist here.
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
  engineMismatch,
  restoredPath,
  type BackupEngine,
  type BackupManifest,
} from './manifest.js';
import { checkDump, checkRestoreTarget, restorePostgres } from './postgres.js';

export interface RestoreResult {
  manifest: BackupManifest;
  /** Settings for the key files, as `NAME=path`, to give the restored fleet. */
  settings: Record<string, string>;
  /** Entries in the archive that its manifest does not list (left out, and logged). */
  ignored: string[];
  /** A PostgreSQL registry: the row counts found in the database after the restore. */
  restoredCounts?: Record<string, number>;
}

export interface RestoreOptions {
  /** Replace what a non-empty PostgreSQL database holds (pg_restore --clean), instead of refusing it. */
  overwrite?: boolean;
  /** The environment pg_restore runs in (its PATH is searched for it). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Unpacks `archive` into the fleet the settings describe: the files into its
 * data dir (created if missing), the registry into its SQLite file or, with
 * DIEMCAU_DATABASE_URL, into that PostgreSQL database.
 */
export async function restoreFleet(
  archive: string,
  config: Pick<FleetConfig, 'dataDir' | 'dbFile' | 'databaseUrl' | 'pgToolsDir'>,
  log: Logger,
  opts: RestoreOptions = {},
): Promise<RestoreResult> {
  const { dataDir, dbFile } = config;
  const target: BackupEngine = config.databaseUrl !== undefined ? 'postgres' : 'sqlite';
  const tools = { dir: config.pgToolsDir, env: opts.env ?? {} };
  if (target === 'sqlite' && fs.existsSync(path.resolve(dataDir, dbFile)))
    throw new DiemcauError(
      'FLEET_ERR_BACKUP',
      `${path.resolve(dataDir, dbFile)} exists: restore into a fresh data dir (DIEMCAU_DATA_DIR)`,
    );
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-restore-'));
  try {
    try {
      // GNU tar refuses members that climb out ('..', absolute names); ownership and modes are not taken from the archive.
      execFileSync('tar', ['-xzf', path.resolve(archive), '-C', staging, '--no-same-owner', '--no-same-permissions'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (err) {
      throw new DiemcauError('FLEET_ERR_BACKUP', `${archive} is not a readable archive`, { cause: err });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(path.join(staging, MANIFEST_ENTRY), 'utf8'));
    } catch (err) {
      throw new DiemcauError('FLEET_ERR_BACKUP', `${archive} has no readable ${MANIFEST_ENTRY}: not a fleet backup`, {
        cause: err,
      });
    }
    const decoded = backupManifestCodec.check(raw);
    if (!decoded.ok) throw new DiemcauError('FLEET_ERR_BACKUP', `${MANIFEST_ENTRY}: ${decoded.error.message}`);
    const manifest = decoded.value;
    const mismatch = engineMismatch(manifest.engine, target);
    if (mismatch) throw new DiemcauError('FLEET_ERR_BACKUP', mismatch);

    // Every listed file whole and unchanged, before anything is put in place.
    const problems: string[] = [];
    for (const f of manifest.files) {
      const abs = path.join(staging, f.path);
      if (!fs.existsSync(abs) || !fs.lstatSync(abs).isFile()) {
        problems.push(`${f.path}: missing`);
        continue;
      }
      const bytes = fs.readFileSync(abs);
      if (bytes.length !== f.size || createHash('sha256').update(bytes).digest('hex') !== f.sha256)
        problems.push(`${f.path}: damaged (size or SHA-256 differ)`);
    }
    const registries = manifest.files.filter((f) => f.role === 'registry');
    if (registries.length !== 1 || registries[0]!.path !== REGISTRY_ENTRIES[target])
      problems.push(`the manifest lists no ${manifest.engine} registry, or more than one`);
    if (problems.length > 0) throw new DiemcauError('FLEET_ERR_BACKUP', problems.join('; '), { details: problems });
    const registry = registries[0]!;
    if (config.databaseUrl !== undefined) {
      await checkDump(path.join(staging, registry.path), tools, log);
      await checkRestoreTarget(config.databaseUrl, opts.overwrite === true, log);
    } else {
      const db = new Database(path.join(staging, registry.path), { readonly: true });
      try {
        const check = db.pragma('integrity_check', { simple: true });
        if (check !== 'ok')
          throw new DiemcauError('FLEET_ERR_BACKUP', `the registry fails its integrity check: ${String(check)}`);
      } finally {
        db.close();
      }
    }

    const listed = new Set([MANIFEST_ENTRY, ...manifest.files.map((f) => f.path)]);
    const ignored = listFiles(staging).filter((f) => !listed.has(f));
    if (ignored.length > 0) log.warn({ ignored }, 'archive entries not in its manifest were left out');

    const settings: Record<string, string> = {};
    fs.mkdirSync(dataDir, { recursive: true });
    // The registry last: until it is in place, the data dir (or the database) is still fresh to a retry.
    for (const f of manifest.files.filter((x) => x.role !== 'registry')) {
      const dest = restoredPath(dataDir, dbFile, f);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(path.join(staging, f.path), `${dest}.restoring`);
      fs.chmodSync(`${dest}.restoring`, f.role === 'release' ? 0o644 : 0o600);
      fs.renameSync(`${dest}.restoring`, dest);
      if (f.role === 'key' && f.setting) settings[f.setting] = dest;
    }
    let restoredCounts: Record<string, number> | undefined;
    if (config.databaseUrl !== undefined) {
      restoredCounts = await restorePostgres(
        config.databaseUrl,
        path.join(staging, registry.path),
        { overwrite: opts.overwrite === true, tables: manifest.postgres?.tables },
        tools,
        log,
      );
      const differ = Object.entries(manifest.counts).filter(([t, n]) => restoredCounts![t] !== n);
      if (differ.length > 0)
        throw new DiemcauError(
          'FLEET_ERR_BACKUP',
          `the restored database's rows differ from the backup's: ${differ.map(([t, n]) => `${t} ${restoredCounts![t] ?? 'missing'} (backup: ${n})`).join(', ')}`,
        );
    } else {
      const dest = restoredPath(dataDir, dbFile, registry);
      fs.copyFileSync(path.join(staging, registry.path), `${dest}.restoring`);
      fs.chmodSync(`${dest}.restoring`, 0o600);
      fs.renameSync(`${dest}.restoring`, dest);
    }
    if (Object.keys(settings).length > 0) {
      const env = Object.entries(settings)
        .map(([k, v]) => `${k}=${v}\n`)
        .join('');
      fs.writeFileSync(path.join(dataDir, 'keys', 'restored.env'), env, { mode: 0o600 });
    }
    log.info(
      {
        dataDir: path.resolve(dataDir),
        engine: manifest.engine,
        created: manifest.created,
        counts: manifest.counts,
        files: manifest.files.length,
      },
      'backup restored',
    );
    return { manifest, settings, ignored, ...(restoredCounts ? { restoredCounts } : {}) };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function listFiles(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? listFiles(dir, r) : [r];
  });
}
