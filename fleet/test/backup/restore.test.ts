// A restore puts nothing in place unless the whole archive checks out: a
// changed byte in any listed file, or a manifest that is not ours, is refused
// with FLEET_ERR_BACKUP and the data dir is left as it was. (The round trip
// with a running fleet and reconnecting boxes is scripts/test/backup.test.ts.)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { pino } from 'pino';
import { isDiemcauError } from '@diemcau/shared';
import { backupFleet } from '../../src/backup/backup.js';
import { restoreFleet } from '../../src/backup/restore.js';
import { loadConfig } from '../../src/config.js';
import { startTestFleet } from '../helpers/fleet.js';

const log = pino({ level: 'silent' });

/** Unpacks an archive, lets `change` edit it, packs it again. */
function repack(archive: string, change: (dir: string) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-repack-'));
  execFileSync('tar', ['-xzf', archive, '-C', dir]);
  change(dir);
  const out = `${archive}.changed.tar.gz`;
  execFileSync('tar', ['-czf', out, '-C', dir, '.']);
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

t.test('a damaged or foreign archive is refused and nothing is restored', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-restore-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const f = await startTestFleet(t);
  await f.enrol('yb-city');
  const trusted = path.join(tmp, 'trusted.pem');
  fs.writeFileSync(
    trusted,
    '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n',
  );
  const config = loadConfig({ dataDir: f.dataDir, ota: { trustedKeysFile: trusted } });
  const archive = path.join(tmp, 'fleet.tar.gz');
  const made = await backupFleet(config, archive, log);
  t.equal(made.manifest.counts.devices, 1);
  t.same(made.manifest.files.map((x) => x.role).sort(), ['key', 'registry']);

  const refused = async (file: string, dataDir: string, pattern: RegExp, databaseUrl?: string): Promise<void> => {
    let err: unknown;
    try {
      await restoreFleet(file, { dataDir, dbFile: 'fleet.sqlite', databaseUrl }, log);
    } catch (e) {
      err = e;
    }
    t.ok(isDiemcauError(err) && err.code === 'FLEET_ERR_BACKUP', `refused: ${String(err)}`);
    t.match(String(err), pattern);
    t.notOk(fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0, 'nothing restored');
  };
  await refused(
    repack(archive, (d) => {
      const db = path.join(d, 'registry.sqlite');
      const bytes = fs.readFileSync(db);
      bytes[bytes.length - 100] ^= 0xff;
      fs.writeFileSync(db, bytes);
    }),
    path.join(tmp, 'a'),
    /registry\.sqlite: damaged/,
  );
  await refused(
    repack(archive, (d) => fs.rmSync(path.join(d, 'keys', 'ota-trusted-keys'))),
    path.join(tmp, 'b'),
    /keys\/ota-trusted-keys: missing/,
  );
  await refused(
    repack(archive, (d) => {
      const m = JSON.parse(fs.readFileSync(path.join(d, 'backup.json'), 'utf8')) as { files: { path: string }[] };
      m.files[0]!.path = '../../etc/passwd';
      fs.writeFileSync(path.join(d, 'backup.json'), JSON.stringify(m));
    }),
    path.join(tmp, 'c'),
    /backup\.json/,
  );
  await refused(path.join(tmp, 'trusted.pem'), path.join(tmp, 'd'), /not a readable archive/);

  // An embedded fleet's backup is not restored into PostgreSQL (that is migrate-to-postgres' work); no
  // database is reached for it, so the URL names nothing.
  await refused(
    archive,
    path.join(tmp, 'f'),
    /backup of an embedded fleet \(SQLite\) and DIEMCAU_DATABASE_URL is set/,
    'postgres://fleet@127.0.0.1:1/nothing',
  );

  // The untouched archive restores, once.
  const target = { dataDir: path.join(tmp, 'e'), dbFile: 'fleet.sqlite' };
  const ok = await restoreFleet(archive, target, log);
  t.same(Object.keys(ok.settings), ['DIEMCAU_OTA_TRUSTED_KEYS']);
  t.equal(fs.readFileSync(ok.settings.DIEMCAU_OTA_TRUSTED_KEYS!, 'utf8'), fs.readFileSync(trusted, 'utf8'));
  await t.rejects(restoreFleet(archive, target, log), /fresh data dir/);
});
