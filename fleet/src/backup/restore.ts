// Restores a backup (backup.ts) into a fresh data dir: every file the
// manifest lists is checked against its size and SHA-256 before anything is
// put in place, the registry must pass SQLite's integrity check, and a data
// dir that already holds a registry is refused (a restore never merges into,
// or overwrites, a fleet's state). The key files go to <dataDir>/keys/, and
// the settings that point the fleet at them are returned (and written to
// <dataDir>/keys/restored.env) since their old paths may not exist here.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { DiemcauError } from '@diemcau/shared';
import { MANIFEST_ENTRY, backupManifestCodec, restoredPath, type BackupManifest } from './manifest.js';

export interface RestoreResult {
  manifest: BackupManifest;
  /** Settings for the key files, as `NAME=path`, to give the restored fleet. */
  settings: Record<string, string>;
  /** Entries in the archive that its manifest does not list (left out, and logged). */
  ignored: string[];
}

/** Unpacks `archive` into `dataDir` (created if missing) for a fleet whose registry file is `dbFile`. */
export function restoreFleet(archive: string, dataDir: string, dbFile: string, log: Logger): RestoreResult {
  const target = path.resolve(dataDir, dbFile);
  if (fs.existsSync(target))
    throw new DiemcauError('FLEET_ERR_BACKUP', `${target} exists: restore into a fresh data dir (DIEMCAU_DATA_DIR)`);
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
    if (manifest.files.filter((f) => f.role === 'registry').length !== 1)
      problems.push('the manifest lists no registry, or more than one');
    if (problems.length > 0) throw new DiemcauError('FLEET_ERR_BACKUP', problems.join('; '), { details: problems });
    const registry = manifest.files.find((f) => f.role === 'registry')!;
    const db = new Database(path.join(staging, registry.path), { readonly: true });
    try {
      const check = db.pragma('integrity_check', { simple: true });
      if (check !== 'ok')
        throw new DiemcauError('FLEET_ERR_BACKUP', `the registry fails its integrity check: ${String(check)}`);
    } finally {
      db.close();
    }

    const listed = new Set([MANIFEST_ENTRY, ...manifest.files.map((f) => f.path)]);
    const ignored = listFiles(staging).filter((f) => !listed.has(f));
    if (ignored.length > 0) log.warn({ ignored }, 'archive entries not in its manifest were left out');

    const settings: Record<string, string> = {};
    fs.mkdirSync(dataDir, { recursive: true });
    // The registry last: until it is in place, the data dir is still "fresh" to a retry.
    for (const f of [...manifest.files.filter((x) => x.role !== 'registry'), registry]) {
      const dest = restoredPath(dataDir, dbFile, f);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(path.join(staging, f.path), `${dest}.restoring`);
      fs.chmodSync(`${dest}.restoring`, f.role === 'release' ? 0o644 : 0o600);
      fs.renameSync(`${dest}.restoring`, dest);
      if (f.role === 'key' && f.setting) settings[f.setting] = dest;
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
        created: manifest.created,
        counts: manifest.counts,
        files: manifest.files.length,
      },
      'backup restored',
    );
    return { manifest, settings, ignored };
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
