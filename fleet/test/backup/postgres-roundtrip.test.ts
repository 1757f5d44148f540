// Backup and restore of a fleet on PostgreSQL, as an operator runs them
// (`npm run backup` / `npm run restore`, the same program as for SQLite): a
// fleet node on a real PostgreSQL with boxes sending telemetry every second
// is backed up while it runs (pg_dump of one exported snapshot), stopped, and
// its backup restored into a fresh database; the fleet started on that
// database shows the same devices, alerts and audit log, and every box that
// was connected reconnects to it without enrolling again. Also: the errors an
// operator meets (no pg_dump, a wrong URL, a database that is not empty) and
// --overwrite. The round trip on SQLite is scripts/test/backup.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import pg from 'pg';
import { waitFor } from '../helpers/fleet.js';
import {
  get,
  health,
  nodePorts,
  post,
  run,
  runSim,
  startNode,
  type Node,
  type Proc,
} from '../helpers/cluster-nodes.js';
import { startPostgres } from '../helpers/postgres.js';
import { freePort } from '../helpers/redis.js';

interface Device {
  id: string;
  siteId: string;
  serial: string | null;
  online: boolean;
  telemetry?: { at: string } | null;
}
interface Alert {
  id: number;
  type: string;
  key: string;
  state: string;
  deviceId: string | null;
  openedAt: string;
}
interface Audit {
  id: number;
  at: string;
  action: string;
  target: string | null;
}

const exitCode = async (p: Proc): Promise<number | null> => {
  await p.exited;
  return p.child.exitCode;
};

t.test('a fleet on PostgreSQL backed up while it runs, restored into a fresh database', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-pgbackup-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const server = await startPostgres(t);
  const [dbA, dbB] = [await server.createDatabase('fleet_a'), await server.createDatabase('fleet_b')];
  const { ports } = await nodePorts(['a'] as const);
  const dataA = path.join(tmp, 'data-a');
  const dataB = path.join(tmp, 'data-b');
  const node = (dataDir: string, db: string): Promise<Node> =>
    startNode(t, 'a', ports.a, { DIEMCAU_DATA_DIR: dataDir, DIEMCAU_DATABASE_URL: db });
  /** `npm run backup` / `npm run restore` with the fleet's settings plus `env`. */
  const cli = (args: string[], env: Record<string, string>): Proc =>
    run(t, ['fleet/src/backup/main.ts', ...args], { DIEMCAU_LOG_LEVEL: 'info', ...env });

  // Boxes in two simulators: three stay, one is cut off for good so that an alert is open.
  const a = await node(dataA, dbA);
  runSim(t, { base: a.base, name: 'stays' }, tmp, 3, 1);
  const leaving = runSim(t, { base: a.base, name: 'leaves' }, tmp, 1, 1);
  await waitFor(async () => (await health(a))?.devicesOnline === 4, 120_000, 'four boxes online');
  leaving.child.kill('SIGKILL');
  const devices = async (n: Node): Promise<Device[]> =>
    (await get<{ items: Device[] }>(n, '/api/v1/devices')).items.sort((x, y) => x.id.localeCompare(y.id));
  const alerts = async (n: Node): Promise<Alert[]> =>
    (await get<{ items: Alert[] }>(n, '/api/v1/alerts?limit=1000')).items.sort((x, y) => x.id - y.id);
  const audit = async (n: Node): Promise<Audit[]> =>
    (await get<{ items: Audit[] }>(n, '/api/v1/audit?limit=1000')).items.sort((x, y) => x.id - y.id);
  const gone = await waitFor(
    async () => (await alerts(a)).find((x) => x.type === 'device-offline' && x.state === 'open'),
    60_000,
    'the offline alert of the box that left',
  );
  const before = { devices: await devices(a), alerts: await alerts(a), audit: await audit(a) };
  const staying = before.devices.filter((d) => d.id !== gone.deviceId).map((d) => d.id);
  t.equal(staying.length, 3, 'three boxes still connected, sending telemetry every second');

  // The errors an operator can meet, each with what to do about it.
  const emptyDir = fs.mkdtempSync(path.join(tmp, 'no-tools-'));
  const noTools = cli(['backup', '--out', path.join(tmp, 'x.tar.gz')], {
    DIEMCAU_DATABASE_URL: dbA,
    DIEMCAU_PG_TOOLS_DIR: emptyDir,
  });
  t.equal(await exitCode(noTools), 1, 'no pg_dump: the backup fails');
  t.match(noTools.output(), /pg_dump not found .*DIEMCAU_PG_TOOLS_DIR=.*postgresql-client-15/);
  const closed = await freePort();
  const wrongUrl = cli(['backup', '--out', path.join(tmp, 'x.tar.gz')], {
    DIEMCAU_DATABASE_URL: `postgres://postgres:s3cret-pw@127.0.0.1:${closed}/fleet_a`,
  });
  t.equal(await exitCode(wrongUrl), 1, 'nothing listens at the URL: the backup fails');
  t.match(
    wrongUrl.output(),
    new RegExp(`cannot connect to PostgreSQL at postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/fleet_a`),
  );
  t.notMatch(wrongUrl.output(), /s3cret-pw/, 'the password is not printed');
  const noDb = cli(['backup', '--out', path.join(tmp, 'x.tar.gz')], {
    DIEMCAU_DATABASE_URL: `${server.url.replace(/\/postgres$/, '')}/no_such_db`,
  });
  t.equal(await exitCode(noDb), 1, 'a database that does not exist: the backup fails');
  t.match(noDb.output(), /cannot connect to PostgreSQL .*no_such_db.*does not exist/);
  t.notOk(fs.existsSync(path.join(tmp, 'x.tar.gz')), 'and writes no archive');

  // Online, while telemetry keeps being written.
  const archive = path.join(tmp, 'backups', 'fleet.tar.gz');
  const b = cli(['backup', '--out', archive], { DIEMCAU_DATA_DIR: dataA, DIEMCAU_DATABASE_URL: dbA });
  t.equal(await exitCode(b), 0, 'backup succeeded while the fleet ran', { output: b.output().slice(-3000) });
  const summary = JSON.parse(
    b
      .output()
      .split('\n')
      .find((l) => l.startsWith('{"file"'))!,
  ) as {
    counts: Record<string, number>;
  };
  t.equal(summary.counts.devices, 4, 'the snapshot has every device');
  t.equal(summary.counts.audit_log, before.audit.length, 'and the audit log as the API showed it');
  t.equal(summary.counts.alerts, before.alerts.length, 'and the alerts');
  t.match(b.output(), /"msg":"snapshot exported: dumping"/, 'progress: the snapshot');
  t.match(b.output(), /"table":"public\.devices".*"msg":"pg_dump: table"/, 'progress: each table pg_dump reaches');
  t.equal(fs.statSync(archive).mode & 0o077, 0, 'the archive is owner-only');

  // A database that is not empty is refused; nothing in it changes.
  const into = cli(['restore', '--from', archive], { DIEMCAU_DATA_DIR: dataB, DIEMCAU_DATABASE_URL: dbA });
  t.equal(await exitCode(into), 1, 'restore into the running fleet database is refused');
  t.match(into.output(), /fleet_a is not empty .*--overwrite/);
  // A backup of one store is not restored into the other.
  const intoSqlite = cli(['restore', '--from', archive], { DIEMCAU_DATA_DIR: path.join(tmp, 'data-c') });
  t.equal(await exitCode(intoSqlite), 1, 'without DIEMCAU_DATABASE_URL the restore is refused');
  t.match(intoSqlite.output(), /backup of a fleet on PostgreSQL: set DIEMCAU_DATABASE_URL/);
  t.notOk(fs.existsSync(path.join(tmp, 'data-c', 'fleet.sqlite')), 'and no SQLite registry is made');

  a.proc.child.kill('SIGTERM');
  await a.proc.exited;

  const r = cli(['restore', '--from', archive], { DIEMCAU_DATA_DIR: dataB, DIEMCAU_DATABASE_URL: dbB });
  t.equal(await exitCode(r), 0, 'restored into the fresh database', { output: r.output().slice(-3000) });
  t.match(
    r.output(),
    /"table":"public\.devices".*"msg":"pg_restore: table"/,
    'progress: each table pg_restore reaches',
  );

  // The fleet on the restored database, at the same address: the boxes come back by themselves.
  const startedB = Date.now();
  const nb = await node(dataB, dbB);
  const fresh = await waitFor(
    async () => {
      const ds = (await devices(nb)).filter((d) => d.telemetry && Date.parse(d.telemetry.at) > startedB);
      return ds.length === staying.length && ds.map((d) => d.id);
    },
    120_000,
    `telemetry from every connected box on the restored fleet\n${nb.proc.output()}`,
  );
  t.same(fresh, staying, 'every box that was connected reports to the restored fleet, none enrolled again');
  const after = { devices: await devices(nb), alerts: await alerts(nb), audit: await audit(nb) };
  const pick = (ds: Device[]) => ds.map((d) => ({ id: d.id, siteId: d.siteId, serial: d.serial }));
  t.same(pick(after.devices), pick(before.devices), 'the same devices');
  t.same(
    after.alerts.filter((x) => x.id <= before.alerts.at(-1)!.id),
    before.alerts,
    'the same alerts, the open one of the box that left among them',
  );
  t.same(
    after.audit.filter((x) => x.id <= before.audit.at(-1)!.id),
    before.audit,
    'the same audit log',
  );
  t.notOk(after.devices.find((d) => d.id === gone.deviceId)?.online, 'the box that left is still offline');

  // --overwrite replaces what a used database holds with the backup, in one transaction.
  await post(nb, '/api/v1/operators', { name: 'added after the restore', role: 'viewer' });
  t.equal((await audit(nb)).length, after.audit.length + 1, 'the restored fleet writes its own audit');
  nb.proc.child.kill('SIGTERM');
  await nb.proc.exited;
  const over = cli(['restore', '--from', archive, '--overwrite'], {
    DIEMCAU_DATA_DIR: dataB,
    DIEMCAU_DATABASE_URL: dbB,
  });
  t.equal(await exitCode(over), 0, 'restore --overwrite into the used database', {
    output: over.output().slice(-3000),
  });
  const c = new pg.Client({ connectionString: dbB });
  await c.connect();
  try {
    const n = async (table: string): Promise<number> =>
      Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    t.equal(
      await n('audit_log'),
      summary.counts.audit_log,
      'the audit log is the backup, not what the restored fleet added',
    );
    t.equal(await n('devices'), 4);
  } finally {
    await c.end();
  }
});
