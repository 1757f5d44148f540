import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pino from 'pino';
import { moveToPostgres } from '../../src/db/import/move.js';
import { registryFacts } from '../../src/db/import/facts.js';
import { PostgresDb } from '../../src/db/postgres.js';
import { SqliteDb } from '../../src/db/sqlite.js';
import { deviceTopic } from '@diemcau/shared';
import { ADMIN_TOKEN, connectDevice, startTestFleet, telemetry, waitFor } from '../helpers/fleet.js';
import { startPostgres } from '../helpers/postgres.js';

// An embedded install moves to PostgreSQL: a real fleet fills its SQLite
// file, the command as a user runs it shows the plan and writes nothing, then
// copies every row; a fleet on PostgreSQL then knows the same boxes, which
// connect with the credentials they had. A failure half way writes nothing.

const run = promisify(execFile);
const log = pino({ level: 'silent' });
const root = join(import.meta.dirname, '..', '..', '..');
const server = await startPostgres(t);

/** An embedded fleet with boxes, telemetry, an alert, a command and audit rows; closed, its data dir kept. */
async function embeddedInstall(t: Test) {
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-move-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const holder = { teardown: (_fn: () => unknown) => undefined };
  const f = await startTestFleet(holder, {}, dataDir);
  const a = await f.enrol('yb-city', { serial: 'SN-MOVE-1' });
  const b = await f.enrol('yb-van-yen');
  const box = await connectDevice(t, a);
  for (let seq = 1; seq <= 5; seq++)
    box.publish(deviceTopic(a.deviceId, 'telemetry'), JSON.stringify(telemetry(seq)), { qos: 1 });
  await waitFor(
    async () => (await f.fleet.repos.telemetry.latest(a.deviceId, 10)).length === 5,
    10_000,
    'telemetry stored',
  );
  t.equal((await f.api('POST', `/api/v1/devices/${b.deviceId}/commands`, { body: { type: 'self-test' } })).status, 202);
  await f.fleet.alerts.open({ type: 'test-moved', key: 'test-moved:1', siteId: 'yb-city', details: { n: 1 } });
  await box.endAsync();
  await f.fleet.close();
  return { dataDir, a, b };
}

const counts = async (db: SqliteDb | PostgresDb): Promise<Record<string, number>> => {
  const { counts } = await registryFacts(db);
  delete counts.migrations;
  return counts;
};

t.test(
  'the command: a dry run writes nothing; --apply copies every row; a fleet on PostgreSQL carries on',
  async (t) => {
    const { dataDir, a } = await embeddedInstall(t);
    const url = await server.createDatabase();
    const env = { ...process.env, DIEMCAU_DATA_DIR: dataDir, DIEMCAU_DATABASE_URL: url, DIEMCAU_LOG_LEVEL: 'warn' };
    const tsx = join(root, 'node_modules', '.bin', 'tsx');
    const dry = await run(tsx, ['scripts/migrate-to-postgres.ts'], { cwd: root, env });
    t.match(dry.stdout, /Dry run: .*fleet\.sqlite -> PostgreSQL/);
    t.match(dry.stdout, /devices\s+2 rows/);
    t.match(dry.stdout, /Nothing was written \(dry run\)/);
    const target = await PostgresDb.open({ url, poolSize: 2 }, log);
    t.teardown(() => target.close());
    t.equal((await target.get<{ n: number }>('SELECT COUNT(*) AS n FROM devices'))?.n, 0, 'the dry run wrote no row');

    const applied = await run(tsx, ['scripts/migrate-to-postgres.ts', '--apply'], { cwd: root, env });
    t.match(applied.stdout, /telemetry: 5\/5 rows/, 'progress shown');
    t.match(applied.stdout, /Done: \d+ rows in one transaction/);
    const source = SqliteDb.openReadOnly(join(dataDir, 'fleet.sqlite'), log);
    const before = await counts(source);
    await source.close();
    t.same(await counts(target), before, 'every table holds as many rows as the file did');
    t.ok(before.telemetry === 5 && before.devices === 2 && before.audit_log! > 0 && before.commands === 1);

    const again = await run(tsx, ['scripts/migrate-to-postgres.ts', '--apply'], { cwd: root, env }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    t.equal((again as { code?: number }).code, 1, 'a second run is refused');
    t.match((again as { stdout: string }).stdout, /table devices in the target is not empty/);

    // The fleet on PostgreSQL: the same boxes, their passwords, and new rows after the imported ones.
    const f = await startTestFleet(t, { databaseUrl: url }, dataDir);
    const devices = await f.api<{ items: { id: string; serial: string | null }[] }>('GET', '/api/v1/devices');
    t.same(devices.body.items.map((d) => d.serial).sort(), ['SN-MOVE-1', null].sort());
    const box = await connectDevice(t, { ...a, mqtt: { ...a.mqtt, url: `mqtt://127.0.0.1:${f.fleet.mqttPort}` } });
    await waitFor(() => f.fleet.presence.isOnline(a.deviceId), 10_000, 'the moved box online on the new registry');
    box.end(true);
    const alerts = await f.fleet.alerts.list({ type: 'test-moved' });
    t.equal(alerts.length, 1);
    const next = await f.fleet.alerts.open({ type: 'test-moved', key: 'test-moved:2' });
    t.ok(next.id > alerts[0]!.id, 'identity counters moved past the imported ids');
    t.ok((await f.api('GET', '/api/v1/audit', { token: ADMIN_TOKEN })).status === 200);
  },
);

t.test('all or nothing: a row the target refuses half way leaves every table empty', async (t) => {
  const { dataDir } = await embeddedInstall(t);
  // The last rows to go in are refused by the target (a constraint the source never had).
  const file = new Database(join(dataDir, 'fleet.sqlite'));
  file
    .prepare(
      "INSERT INTO ui_alert_acks (alert_id, at, operator_id, operator_name, note) VALUES (999, 'x', NULL, NULL, 'refused-note')",
    )
    .run();
  file.close();
  const url = await server.createDatabase();
  const target = await PostgresDb.open({ url, poolSize: 2 }, log);
  t.teardown(() => target.close());
  const progress: string[] = [];
  await moveToPostgres({ config: { dataDir, dbFile: 'fleet.sqlite', databaseUrl: url }, apply: false, log });
  await target.exec(`ALTER TABLE ui_alert_acks ADD CONSTRAINT test_refuse CHECK (note <> 'refused-note')`);
  await t.rejects(
    moveToPostgres({
      config: { dataDir, dbFile: 'fleet.sqlite', databaseUrl: url },
      apply: true,
      log,
      batchRows: 2,
      onProgress: (p) => progress.push(p.table),
    }),
    /test_refuse/,
  );
  t.ok(
    progress.includes('devices') && progress.includes('telemetry'),
    'earlier tables were written before the failure',
  );
  const left = Object.entries(await counts(target)).filter(([, n]) => n > 0);
  t.same(left, [], 'and rolled back with it');
});
