import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { SqliteDb } from '../../src/db/sqlite.js';
import { CORE_MIGRATIONS } from '../../src/db/migrations.js';
import { DevicesRepo } from '../../src/db/devices-repo.js';
import { EnrollmentRepo } from '../../src/db/enrollment-repo.js';

// A registry written by a fleet from before serial ownership: a bound
// pre-registration counts as used (its serial alone enrols nothing more), an
// unbound one stays armed, and a revoked device gives up its serial.

t.test('upgrading a registry: bound pre-registrations are spent, revoked devices release their serial', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'diemcau-serial-mig-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'fleet.sqlite');
  const old = new Database(file);
  old.exec('CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  for (const m of CORE_MIGRATIONS.filter((m) => m.name < 'core-003')) {
    old.exec(m.sql);
    old.prepare('INSERT INTO migrations VALUES (?, ?)').run(m.name, new Date().toISOString());
  }
  const now = new Date().toISOString();
  old
    .prepare("INSERT INTO sites (id, name, kind, created_at, updated_at) VALUES ('s1', 'S1', 'commune', ?, ?)")
    .run(now, now);
  old
    .prepare(
      "INSERT INTO devices (id, site_id, serial, password_hash, enrolled_at, revoked_at) VALUES ('dev-old', 's1', 'SN-1', 'x', ?, ?)",
    )
    .run(now, now);
  old
    .prepare("INSERT INTO device_serials (serial, site_id, created_at, device_id) VALUES ('SN-1', 's1', ?, 'dev-old')")
    .run(now);
  old.prepare("INSERT INTO device_serials (serial, site_id, created_at) VALUES ('SN-2', 's1', ?)").run(now);
  old.close();

  const db = await SqliteDb.open(file, pino({ level: 'silent' }));
  t.teardown(() => db.close());
  const enrollment = new EnrollmentRepo(db);
  const devices = new DevicesRepo(db);
  t.match(await enrollment.getSerial('SN-1'), { deviceId: 'dev-old', usedAt: String }, 'bound: spent');
  t.match(await enrollment.getSerial('SN-2'), { deviceId: null, usedAt: null }, 'unbound: still armed');
  t.equal(await devices.liveBySerial('SN-1'), undefined, 'a revoked device owns no serial');
  await devices.insert({ id: 'dev-new', siteId: 's1', serial: 'SN-1', passwordHash: 'y' });
  t.equal((await devices.liveBySerial('SN-1'))?.id, 'dev-new', 'the hardware enrolled again as a new device');
  await t.rejects(
    devices.insert({ id: 'dev-dup', siteId: 's1', serial: 'SN-1', passwordHash: 'z' }),
    /UNIQUE/,
    'one live device per serial',
  );
  t.equal(
    await devices.reenrol({ id: 'dev-old', siteId: 's1', serial: 'SN-1', passwordHash: 'w' }),
    false,
    're-enrolling a revoked device changes nothing',
  );
  t.ok((await devices.get('dev-old'))?.revokedAt, 'still revoked');
});
