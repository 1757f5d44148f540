import type { Test } from 'tap';
import type { FleetDb } from '../../src/db/database.js';
import { createRepos, type Repos } from '../../src/db/repos.js';
import { COMMAND_MIGRATIONS, CommandsRepo } from '../../src/commands/repo.js';
import type { CommandRecord } from '../../src/commands/lifecycle.js';
import { OTA_MIGRATIONS, OtaRepo } from '../../src/ota/repo.js';
import { MeetingsRepo } from '../../src/meetings/repository.js';
import { SpeakRequestsRepo } from '../../src/meetings/requests-repo.js';
import { JoinLinksRepo } from '../../src/meetings/join-links-repo.js';
import type { MeetingRecord } from '../../src/meetings/model.js';
import { HEALTH_MIGRATIONS, SelfTestsRepo } from '../../src/health/self-tests.js';
import type { Telemetry } from '@diemcau/shared';

// One contract for the registry, run against every engine (the MQTT.js
// abstract_store pattern, as appliance/test/queue/queue-suite.ts does for the
// agent's queues). `make` returns a fresh, empty registry with the core
// migrations applied; the suite applies the areas' own and closes it.

const TELEMETRY_KEEP = 20;

interface Registry {
  db: FleetDb;
  repos: Repos;
}

const sample = (seq: number): Telemetry => ({
  v: 1,
  seq,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  cpu: { loadPercent: seq % 100 },
  memory: { usedBytes: 1, totalBytes: 2 },
  disk: { usedBytes: 1, totalBytes: 2 },
  network: { rxBytesPerSec: 0, txBytesPerSec: 0 },
  uptimeSec: seq,
});

const command = (
  id: string,
  deviceId: string,
  expiresAt: string,
  status: CommandRecord['status'] = 'queued',
): CommandRecord => ({
  id,
  batchId: 'b1',
  deviceId,
  siteId: 'commune-1',
  type: 'self-test',
  params: { deep: true },
  issuedBy: 'op-1',
  issuedAt: '2026-01-01T00:00:00.000Z',
  expiresAt,
  force: null,
  status,
  attempts: 0,
  lastSentAt: null,
  deliveredAt: null,
  completedAt: null,
  result: null,
});

export function registryContract(t: Test, make: () => Promise<FleetDb>): void {
  const open = async (t: Test): Promise<Registry> => {
    const db = await make();
    t.teardown(() => db.close());
    const repos = createRepos(db, { telemetryKeep: TELEMETRY_KEEP });
    await repos.sites.upsertMany([
      { id: 'district-1', name: 'District', kind: 'district', parentId: null },
      { id: 'commune-1', name: 'Commune 1', kind: 'commune', parentId: 'district-1' },
      { id: 'commune-2', name: 'Commune 2', kind: 'commune', parentId: 'district-1', address: 'Road 1' },
    ]);
    return { db, repos };
  };
  const device = (r: Registry, id: string, serial: string | null = null, siteId = 'commune-1') =>
    r.repos.devices.insert({ id, siteId, serial, passwordHash: `hash-${id}` });

  t.test(
    'placeholders: positional and named, a name used twice is one value; RETURNING; changes counted',
    async (t) => {
      const { db } = await open(t);
      await db.migrate([{ name: 'suite-kv', sql: 'CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)' }]);
      t.same(await db.get('INSERT INTO kv (k, v) VALUES (?, ?) RETURNING k, v', ['a', 1]), { k: 'a', v: 1 });
      await db.run('INSERT INTO kv (k, v) VALUES (@k, @v)', { k: "it's ?", v: 2 });
      t.same(await db.all('SELECT k, v FROM kv WHERE v >= @min OR k = @min_k ORDER BY k', { min: 2, min_k: 'a' }), [
        { k: 'a', v: 1 },
        { k: "it's ?", v: 2 },
      ]);
      t.same(
        await db.get("SELECT COUNT(*) AS n FROM kv WHERE k <> '@k?'"),
        { n: 2 },
        'counts are numbers; placeholders inside quotes are text',
      );
      t.equal((await db.run('UPDATE kv SET v = v + 1 WHERE v >= ?', [0])).changes, 2);
      t.equal((await db.run('DELETE FROM kv WHERE k = ?', ['none'])).changes, 0);
    },
  );

  t.test(
    'transactions: all or nothing, nested ones undo only themselves, work outside is never rolled back with them',
    async (t) => {
      const { db } = await open(t);
      await db.migrate([{ name: 'suite-n', sql: 'CREATE TABLE n (id INTEGER PRIMARY KEY, label TEXT NOT NULL)' }]);
      await t.rejects(
        db.tx(async () => {
          await db.run('INSERT INTO n (label) VALUES (?)', ['doomed']);
          throw new Error('boom');
        }),
        /boom/,
      );
      t.same(await db.all('SELECT label FROM n'), [], 'the failed transaction left nothing');
      await db.tx(async () => {
        await db.run('INSERT INTO n (label) VALUES (?)', ['outer']);
        await db.tx(async () => db.run('INSERT INTO n (label) VALUES (?)', ['inner-kept']));
        await db
          .tx(async () => {
            await db.run('INSERT INTO n (label) VALUES (?)', ['inner-undone']);
            throw new Error('inner');
          })
          .catch(() => undefined);
      });
      t.same(
        (await db.all<{ label: string }>('SELECT label FROM n ORDER BY id')).map((r) => r.label),
        ['outer', 'inner-kept'],
      );

      // A write from another chain while a transaction is open survives that transaction's rollback.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const failing = db.tx(async () => {
        await db.run('INSERT INTO n (label) VALUES (?)', ['in-failing-tx']);
        await held;
        throw new Error('rolled back');
      });
      const outside = db.run('INSERT INTO n (label) VALUES (?)', ['outside']);
      release();
      await t.rejects(failing, /rolled back/);
      await outside;
      t.same(
        (await db.all<{ label: string }>('SELECT label FROM n ORDER BY label')).map((r) => r.label),
        ['inner-kept', 'outer', 'outside'],
      );
    },
  );

  t.test('transactions under one lock name take turns: read-modify-write from 20 chains loses nothing', async (t) => {
    const { db } = await open(t);
    await db.migrate([
      { name: 'suite-counter', sql: 'CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)' },
    ]);
    await db.run('INSERT INTO counter (id, n) VALUES (1, 0)');
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.tx(
          async () => {
            const { n } = (await db.get<{ n: number }>('SELECT n FROM counter WHERE id = 1'))!;
            await new Promise((r) => setTimeout(r, 1));
            await db.run('UPDATE counter SET n = ? WHERE id = 1', [n + 1]);
          },
          { lock: 'counter' },
        ),
      ),
    );
    t.same(await db.get('SELECT n FROM counter WHERE id = 1'), { n: 20 });
  });

  t.test('migrations: applied once, by name, again is a no-op', async (t) => {
    const { db } = await open(t);
    const m = [{ name: 'suite-001', sql: 'CREATE TABLE suite_t (id INTEGER PRIMARY KEY, body TEXT) WITHOUT ROWID;' }];
    await db.migrate(m);
    await db.migrate(m);
    t.same(await db.all("SELECT name FROM migrations WHERE name = 'suite-001'"), [{ name: 'suite-001' }]);
    t.ok(
      await db.get("SELECT name FROM migrations WHERE name = 'core-001-registry'"),
      'the core is recorded under the same names on every engine',
    );
  });

  t.test('sites: parents first in one transaction, a bad row writes none', async (t) => {
    const r = await open(t);
    await r.repos.sites.upsertMany([
      { id: 'commune-9', name: 'Late child', kind: 'commune', parentId: 'district-9' },
      { id: 'district-9', name: 'New district', kind: 'district', parentId: null },
    ]);
    t.equal(await r.repos.sites.count(), 5);
    t.same(await r.repos.sites.get('commune-2'), {
      id: 'commune-2',
      name: 'Commune 2',
      kind: 'commune',
      parentId: 'district-1',
      address: 'Road 1',
    });
    t.same(
      (await r.repos.sites.list()).map((s) => s.id),
      ['commune-1', 'commune-2', 'commune-9', 'district-1', 'district-9'],
      'ordered by id, byte-wise on every engine',
    );
    await t.rejects(
      r.repos.sites.upsertMany([
        { id: 'commune-10', name: 'Fine', kind: 'commune', parentId: 'district-1' },
        { id: 'commune-11', name: 'Orphan', kind: 'commune', parentId: 'no-such-site' },
      ]),
    );
    t.equal(await r.repos.sites.get('commune-10'), undefined, 'nothing of the failed import');
  });

  t.test('devices: one live device per serial, revocation frees it, re-enrolment never moves or revives', async (t) => {
    const r = await open(t);
    await device(r, 'dev-1', 'SN-1');
    await t.rejects(device(r, 'dev-2', 'SN-1'), 'a second live device with the serial');
    t.equal((await r.repos.devices.liveBySerial('SN-1'))?.id, 'dev-1');
    t.equal(await r.repos.devices.credentials('dev-1'), 'hash-dev-1');
    t.equal(
      await r.repos.devices.reenrol({ id: 'dev-1', siteId: 'commune-2', serial: 'SN-1', passwordHash: 'x' }),
      false,
      'not at another site',
    );
    t.equal(
      await r.repos.devices.reenrol({
        id: 'dev-1',
        siteId: 'commune-1',
        serial: 'SN-1',
        passwordHash: 'new',
        enrolTokenId: 7,
      }),
      true,
    );
    t.equal(await r.repos.devices.credentials('dev-1'), 'new');
    t.equal(await r.repos.devices.enrolTokenOf('dev-1'), 7);
    t.equal(await r.repos.devices.revoke('dev-1'), true);
    t.equal(await r.repos.devices.revoke('dev-1'), false, 'once');
    t.equal(await r.repos.devices.credentials('dev-1'), undefined, 'a revoked device may not connect');
    t.equal(
      await r.repos.devices.reenrol({ id: 'dev-1', siteId: 'commune-1', serial: 'SN-1', passwordHash: 'y' }),
      false,
      'never revived',
    );
    await device(r, 'dev-3', 'SN-1');
    t.equal((await r.repos.devices.liveBySerial('SN-1'))?.id, 'dev-3', 'the hardware enrols again as a new device');
  });

  t.test('devices: credentials asked for at once share a look-up and each gets its own', async (t) => {
    const r = await open(t);
    const ids = Array.from({ length: 620 }, (_, i) => `dev-${String(i).padStart(3, '0')}`);
    for (const id of ids) await device(r, id, `SN-${id}`);
    await r.repos.devices.revoke('dev-007');
    // More than one query's worth, the same device asked twice, one revoked, one unknown.
    const asked = [...ids, 'dev-001', 'dev-nope'];
    const got = await Promise.all(asked.map((id) => r.repos.devices.credentials(id)));
    const want = asked.map((id) => (id === 'dev-007' || id === 'dev-nope' ? undefined : `hash-${id}`));
    t.same(got, want);
  });

  t.test('devices: inside a transaction a look-up sees its own uncommitted rows', async (t) => {
    const r = await open(t);
    await device(r, 'dev-a');
    // A look-up from outside any transaction (a broker callback, say) in the same turn: the
    // promise's continuation runs in the context it was made in, outside the transaction.
    let go!: () => void;
    const outside = new Promise<void>((resolve) => (go = resolve)).then(() =>
      Promise.all([r.repos.devices.siteOf('dev-a'), r.repos.devices.credentials('dev-a')]),
    );
    const seen = await r.db.tx(async () => {
      await device(r, 'dev-new');
      go();
      for (let i = 0; i < 3; i++) await Promise.resolve();
      return Promise.all([r.repos.devices.siteOf('dev-new'), r.repos.devices.credentials('dev-new')]);
    });
    // Gathered with the outside one, the look-up ran outside the transaction: on PostgreSQL,
    // on another connection, which saw no such device.
    t.same(seen, [{ siteId: 'commune-1', revoked: false }, 'hash-dev-new']);
    t.same(await outside, [{ siteId: 'commune-1', revoked: false }, 'hash-dev-a']);
  });

  /** Counts the queries the registry runs from now on. */
  const countQueries = (r: Registry): (() => number) => {
    let n = 0;
    for (const m of ['all', 'get', 'run'] as const) {
      const orig = r.db[m].bind(r.db) as (...a: unknown[]) => unknown;
      (r.db as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => (n++, orig(...a));
    }
    return () => n;
  };

  t.test('devices: sites asked for in one turn share one query; revoked and unknown ones say so', async (t) => {
    const r = await open(t);
    await device(r, 'dev-a');
    await device(r, 'dev-b', null, 'commune-2');
    await device(r, 'dev-c');
    await r.repos.devices.revoke('dev-c');
    const queries = countQueries(r);
    const got = await Promise.all(
      ['dev-a', 'dev-b', 'dev-c', 'dev-a', 'dev-nope'].map((id) => r.repos.devices.siteOf(id)),
    );
    t.same(got, [
      { siteId: 'commune-1', revoked: false },
      { siteId: 'commune-2', revoked: false },
      { siteId: 'commune-1', revoked: true },
      { siteId: 'commune-1', revoked: false },
      undefined,
    ]);
    t.equal(queries(), 1, 'one query for five look-ups');
    t.same(await r.repos.devices.siteOf('dev-b'), { siteId: 'commune-2', revoked: false }, 'and alone');
  });

  t.test('devices: a birth that changes nothing writes nothing', async (t) => {
    const r = await open(t);
    await device(r, 'dev-a');
    const birth = { agentVersion: '1.2.0', os: 'Debian 12', hardware: 'sim', peripherals: { camera: 'ok' } as never };
    await r.repos.devices.setBirth('dev-a', birth);
    // PostgreSQL gives a row a new version (xmin) on every update; SQLite counts the changes.
    const version = async (): Promise<unknown> =>
      r.db.dialect === 'postgres'
        ? (await r.db.get<{ v: string }>('SELECT xmin::text AS v FROM devices WHERE id = ?', ['dev-a']))?.v
        : (await r.db.get<{ v: number }>('SELECT total_changes() AS v'))?.v;
    const before = await version();
    await r.repos.devices.setBirth('dev-a', birth);
    await r.repos.devices.setBirth('dev-a', { agentVersion: '1.2.0' });
    t.equal(await version(), before, 'the same birth again: no write');
    await r.repos.devices.setBirth('dev-a', { agentVersion: '1.3.0' });
    t.not(await version(), before, 'a new version is written');
    t.match(await r.repos.devices.get('dev-a'), { agentVersion: '1.3.0', os: 'Debian 12', hardware: 'sim' });
  });

  t.test('devices: births of one turn go in together; two of a device combine', async (t) => {
    const r = await open(t);
    for (const id of ['dev-a', 'dev-b', 'dev-c']) await device(r, id);
    await Promise.all(
      ['dev-a', 'dev-b', 'dev-c'].map((id) => r.repos.devices.setBirth(id, { agentVersion: '1.0.0', os: 'Debian 12' })),
    );
    const queries = countQueries(r);
    await Promise.all([
      r.repos.devices.setBirth('dev-a', { agentVersion: '1.0.0' }),
      r.repos.devices.setBirth('dev-b', { agentVersion: '1.1.0', peripherals: { camera: 'ok' } as never }),
      r.repos.devices.setBirth('dev-c', { agentVersion: '1.2.0', os: 'Debian 12' }),
      r.repos.devices.setBirth('dev-c', { hardware: 'sim' }),
    ]);
    // One statement on SQLite; PostgreSQL reads what differs, then locks and writes it in one transaction.
    t.ok(queries() <= (r.db.dialect === 'postgres' ? 5 : 1), `${queries()} queries for four births`);
    t.match(await r.repos.devices.get('dev-a'), { agentVersion: '1.0.0', os: 'Debian 12', hardware: null });
    t.match(await r.repos.devices.get('dev-b'), {
      agentVersion: '1.1.0',
      os: 'Debian 12',
      peripherals: { camera: 'ok' },
    });
    t.match(await r.repos.devices.get('dev-c'), { agentVersion: '1.2.0', os: 'Debian 12', hardware: 'sim' });
    // One box's birth the store could refuse (U+0000, which PostgreSQL text cannot hold) fails no other's.
    await Promise.all([
      r.repos.devices.setBirth('dev-a', { agentVersion: '2.0.0', os: 'Debian\u0000 12' }),
      r.repos.devices.setBirth('dev-b', { agentVersion: '2.0.0' }),
    ]);
    t.match(await r.repos.devices.get('dev-a'), { agentVersion: '2.0.0', os: 'Debian 12' });
    t.match(await r.repos.devices.get('dev-b'), { agentVersion: '2.0.0' });
    const logins = await Promise.all(['dev-a', 'dev\u0000a', 'dev-b'].map((id) => r.repos.devices.credentials(id)));
    t.same(logins, ['hash-dev-a', undefined, 'hash-dev-b'], 'nor one login look-up another');
    await r.repos.devices.setBirth('dev-nope', { agentVersion: '9' });
    t.equal(await r.repos.devices.get('dev-nope'), undefined, 'an unknown device: nothing written, no error');
  });

  t.test('devices: presence and birth; a restart finds who was online and marks everyone offline', async (t) => {
    const r = await open(t);
    await device(r, 'dev-a');
    await device(r, 'dev-b');
    await r.repos.devices.setPresence('dev-a', true, '2026-01-01T00:00:00.000Z');
    await r.repos.devices.setBirth('dev-a', { agentVersion: '1.2.0', peripherals: { camera: { ok: true } } as never });
    await r.repos.devices.setBirth('dev-a', { os: 'Debian 12' });
    const a = (await r.repos.devices.get('dev-a'))!;
    t.match(a, {
      online: true,
      agentVersion: '1.2.0',
      os: 'Debian 12',
      presenceAt: '2026-01-01T00:00:00.000Z',
      peripherals: { camera: { ok: true } },
    });
    t.same(
      (await r.repos.devices.presence()).map((d) => [d.id, d.online, d.presenceAt]),
      [
        ['dev-a', true, '2026-01-01T00:00:00.000Z'],
        ['dev-b', false, null],
      ],
    );
    await r.repos.devices.setPresenceMany(['dev-b', 'dev-a'], false, '2026-01-02T00:00:00.000Z');
    t.same(
      (await r.repos.devices.list()).map((d) => [d.id, d.online]),
      [
        ['dev-a', false],
        ['dev-b', false],
      ],
    );
  });

  t.test('devices: many presence changes in one write, each with its own state and time', async (t) => {
    const r = await open(t);
    // More than one statement's 500 rows, in no order.
    const ids = Array.from({ length: 1203 }, (_, i) => `dev-${String((i * 7919) % 1203).padStart(4, '0')}`);
    for (const id of ids) await device(r, id);
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60, i)).toISOString();
    await r.repos.devices.setPresenceEach([
      ...ids.map((id, i) => ({ id, online: i % 3 !== 0, at: at(i) })),
      { id: 'dev-unknown', online: true, at: at(0) },
    ]);
    const got = new Map((await r.repos.devices.presence()).map((d) => [d.id, d]));
    const wrong = ids.filter((id, i) => {
      const d = got.get(id);
      return d?.online !== (i % 3 !== 0) || d.presenceAt !== at(i);
    });
    t.same(wrong, [], 'every device has its own state and time');
    t.equal(got.size, ids.length, 'an unknown id adds nothing');
    t.equal((await r.repos.devices.get(ids[5]!))?.lastSeenAt, at(5), 'and its last-seen time');
  });

  t.test('enrolment tokens: a token with 3 uses enrols 3 of 10 racing boxes; stored hashed', async (t) => {
    const r = await open(t);
    await r.repos.enrollment.createToken('commune-1', 'secret-token-value', 3, new Date(Date.now() + 60_000), 'op-1');
    const spent = await Promise.all(
      Array.from({ length: 10 }, () => r.repos.enrollment.consumeToken('secret-token-value')),
    );
    t.equal(spent.filter(Boolean).length, 3);
    t.same(
      (await r.repos.enrollment.spentToken('secret-token-value'))?.siteId,
      'commune-1',
      'spent but not expired: known for a retry',
    );
    t.equal(await r.repos.enrollment.peekToken('secret-token-value'), undefined);
    t.notOk(JSON.stringify(await r.db.all('SELECT * FROM enrollment_tokens')).includes('secret-token-value'));
    await r.repos.enrollment.createToken('commune-1', 'old-token', 1, new Date(Date.now() - 1000), null);
    t.equal(await r.repos.enrollment.consumeToken('old-token'), undefined, 'expired');
    t.equal(await r.repos.enrollment.purge(), 2, 'the spent and the expired are purged');
  });

  t.test(
    'pre-registrations: armed once, spent by one of 5 racing enrolments, re-armed by registering again',
    async (t) => {
      const r = await open(t);
      await r.repos.enrollment.registerSerial('SN-P', 'commune-2', 'by the door', new Date(Date.now() + 60_000));
      const wins = await Promise.all(
        Array.from({ length: 5 }, (_, i) => r.repos.enrollment.spendSerial('SN-P', `dev-${i}`)),
      );
      t.equal(wins.filter(Boolean).length, 1);
      t.match(await r.repos.enrollment.getSerial('SN-P'), { siteId: 'commune-2', note: 'by the door', usedAt: String });
      await r.repos.enrollment.registerSerial('SN-P', 'commune-2');
      t.match(await r.repos.enrollment.getSerial('SN-P'), { usedAt: null, armedUntil: null });
      t.same(
        (await r.repos.enrollment.listSerials()).map((s) => s.serial),
        ['SN-P'],
      );
      t.equal(await r.repos.enrollment.unregisterSerial('SN-P'), true);
      t.equal(await r.repos.enrollment.unregisterSerial('SN-P'), false);
    },
  );

  t.test('alerts: one open alert per key however many open it at once; resolved, the key opens anew', async (t) => {
    const r = await open(t);
    const opened = await Promise.all(
      Array.from({ length: 10 }, () =>
        r.repos.alerts.open({
          type: 'device-offline',
          key: 'device-offline:dev-1',
          deviceId: 'dev-1',
          siteId: 'commune-1',
          details: { n: 1 },
        }),
      ),
    );
    t.equal(opened.filter((o) => o.created).length, 1);
    t.equal(new Set(opened.map((o) => o.alert.id)).size, 1);
    const updated = await r.repos.alerts.update('device-offline:dev-1', { severity: 'critical', details: { n: 2 } });
    t.match(updated, { severity: 'critical', details: { n: 2 }, state: 'open' });
    const resolved = await r.repos.alerts.resolve('device-offline:dev-1', 'back');
    t.match(resolved, { state: 'resolved', resolution: 'back', resolvedAt: String });
    t.equal(await r.repos.alerts.resolve('device-offline:dev-1', 'again'), undefined, 'resolved once');
    const again = await r.repos.alerts.open({ type: 'device-offline', key: 'device-offline:dev-1' });
    t.ok(again.created && again.alert.id > opened[0]!.alert.id, 'a new alert for a new condition');
    t.equal(await r.repos.alerts.openCount(), 1);
    t.same(
      (await r.repos.alerts.list({ state: 'resolved' })).map((a) => a.resolution),
      ['back'],
    );
    t.equal((await r.repos.alerts.list({ deviceId: 'dev-1' })).length, 1, 'the second was opened without a device');
  });

  t.test(
    'telemetry: a redelivered sample is stored once, latest only moves forward, retention is bounded',
    async (t) => {
      const r = await open(t);
      await device(r, 'dev-t');
      const at = '2026-01-01T00:00:00.000Z';
      t.equal(
        await r.repos.telemetry.insertBatch(
          [5, 6, 6, 7].map((s) => ({ deviceId: 'dev-t', sample: sample(s), receivedAt: at })),
        ),
        3,
      );
      t.equal(
        await r.repos.telemetry.insertBatch([{ deviceId: 'dev-t', sample: sample(2), receivedAt: at }]),
        1,
        'an old sample replayed late',
      );
      t.equal((await r.repos.devices.get('dev-t'))!.latest?.seq, 7, 'the latest is still the newest');
      for (let batch = 0; batch < 10; batch++) {
        await r.repos.telemetry.insertBatch(
          Array.from({ length: 10 }, (_, i) => ({
            deviceId: 'dev-t',
            sample: sample(100 + batch * 10 + i),
            receivedAt: at,
          })),
        );
      }
      const { n } = (await r.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM telemetry WHERE device_id = 'dev-t'"))!;
      t.ok(
        n <= TELEMETRY_KEEP + Math.ceil(TELEMETRY_KEEP / 10) + 10,
        `at most keep plus one prune interval and a batch (${n})`,
      );
      t.ok(n >= TELEMETRY_KEEP, 'the newest `keep` are kept');
      t.same(
        (await r.repos.telemetry.latest('dev-t', 3)).map((s) => s.seq),
        [199, 198, 197],
      );
      t.equal((await r.repos.devices.get('dev-t'))!.lastSeenAt, at);
    },
  );

  t.test('telemetry: one batch across 250 devices moves each one’s own latest and last-seen time', async (t) => {
    const r = await open(t);
    // More devices than one statement takes, so the devices' rows are written in three chunks.
    const ids = Array.from({ length: 250 }, (_, i) => `dev-m${String(i).padStart(3, '0')}`);
    for (const id of ids) await device(r, id);
    const before = '2026-01-01T00:00:00.000Z';
    const after = '2026-01-01T00:00:10.000Z';
    await r.repos.telemetry.insertBatch(ids.map((deviceId) => ({ deviceId, sample: sample(10), receivedAt: before })));
    // The next batch: even devices send a newer sample, odd ones replay an older one (a queue drained late).
    await r.repos.telemetry.insertBatch(
      ids.map((deviceId, i) => ({ deviceId, sample: sample(i % 2 === 0 ? 11 + i : 5), receivedAt: after })),
    );
    const got = await Promise.all(ids.map((id) => r.repos.devices.get(id)));
    t.same(
      got.map((d) => d?.latest?.seq),
      ids.map((_, i) => (i % 2 === 0 ? 11 + i : 10)),
      'a newer sample replaces the latest, an older one does not',
    );
    t.ok(
      got.every((d) => d?.lastSeenAt === after),
      'every device was seen when the second batch came',
    );
  });

  t.test('telemetry: a batch is one transaction (a failing row writes none of it)', async (t) => {
    const r = await open(t);
    await device(r, 'dev-u');
    const bad = {
      deviceId: 'dev-u',
      sample: { ...sample(3), at: null as unknown as string },
      receivedAt: '2026-01-01T00:00:00.000Z',
    };
    await t.rejects(
      r.repos.telemetry.insertBatch([{ deviceId: 'dev-u', sample: sample(1), receivedAt: bad.receivedAt }, bad]),
    );
    t.same(await r.repos.telemetry.latest('dev-u', 10), [], 'nothing of it');
  });

  t.test('operators, audit and hierarchy', async (t) => {
    const r = await open(t);
    await r.repos.operators.create({ id: 'op-a', name: 'Admin', role: 'admin' }, 'token-a');
    await r.repos.operators.create(
      { id: 'op-d', name: 'District', role: 'area-operator', area: { kind: 'subtree', siteId: 'district-1' } },
      'token-d',
    );
    t.match(await r.repos.operators.byToken('token-d'), {
      id: 'op-d',
      area: { kind: 'subtree', siteId: 'district-1' },
      districtId: 'district-1',
    });
    t.equal(await r.repos.operators.adminCount(), 1);
    t.equal(await r.repos.operators.revoke('op-d'), true);
    t.equal(await r.repos.operators.byToken('token-d'), undefined);
    const ids = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        await r.repos.audit.record({
          operatorId: 'op-a',
          operatorName: 'Admin',
          action: `act-${i}`,
          target: i % 2 ? 'site:x' : null,
          details: { i },
        }),
      );
    t.same(
      ids,
      [...ids].sort((a, b) => a - b),
      'ids grow',
    );
    t.same(
      (await r.repos.audit.list({ target: 'site:x' })).map((e) => e.action),
      ['act-3', 'act-1'],
    );
    t.same(
      (await r.repos.audit.list({ before: ids[2]!, limit: 1 })).map((e) => e.details),
      [{ i: 1 }],
    );
    t.equal(await r.repos.hierarchy.get(), undefined);
    const h = {
      dataset: 'ds',
      name: { vi: 'V', en: 'E' },
      kinds: [{ id: 'commune', label: { vi: 'xã', en: 'commune' } }] as never,
      relayGroups: null,
    };
    await r.repos.hierarchy.put(h);
    await r.repos.hierarchy.put({ ...h, dataset: 'ds-2' });
    t.match(await r.repos.hierarchy.get(), { dataset: 'ds-2', relayGroups: null });
  });

  t.test('commands: the queue survives in the table; a fan-out is one commit', async (t) => {
    const r = await open(t);
    await r.db.migrate(COMMAND_MIGRATIONS);
    const repo = new CommandsRepo(r.db);
    await repo.insertMany([
      command('c1', 'dev-1', '2026-01-01T01:00:00.000Z'),
      command('c2', 'dev-1', '2026-01-01T00:10:00.000Z'),
      command('c3', 'dev-2', '2026-01-01T00:05:00.000Z', 'succeeded'),
    ]);
    await t.rejects(
      repo.insertMany([
        command('c4', 'dev-3', '2026-01-01T01:00:00.000Z'),
        command('c1', 'dev-3', '2026-01-01T01:00:00.000Z'),
      ]),
      'a duplicate id',
    );
    t.equal(await repo.get('c4'), undefined, 'none of the failed fan-out');
    t.same(
      (await repo.openForDevice('dev-1')).map((c) => c.id),
      ['c1', 'c2'],
    );
    const queries = countQueries(r);
    const openOnes = await Promise.all(['dev-2', 'dev-1', 'dev-none'].map((id) => repo.openForDevice(id)));
    t.same(
      openOnes.map((cs) => cs.map((c) => c.id)),
      [[], ['c1', 'c2'], []],
      'asked for at once: each device its own, oldest first, finished ones left out',
    );
    t.equal(queries(), 1, 'in one query');
    t.same(
      (await repo.dueToExpire('2026-01-01T00:30:00.000Z', 10)).map((c) => c.id),
      ['c2'],
      'finished ones never expire',
    );
    const c2 = (await repo.get('c2'))!;
    await repo.update({ ...c2, status: 'delivered', attempts: 1, deliveredAt: '2026-01-01T00:01:00.000Z' });
    t.match(await repo.get('c2'), { status: 'delivered', attempts: 1, params: { deep: true } });
    t.same((await repo.listByBatch('b1')).length, 3);
    t.same((await repo.listByDevice('dev-1', 1)).length, 1);
  });

  t.test('rollouts: created with their devices in one commit; statuses keep a known cache URL', async (t) => {
    const r = await open(t);
    await r.db.migrate(OTA_MIGRATIONS);
    const repo = new OtaRepo(r.db);
    const rollout = {
      id: 'r1',
      spec: { release: '1.2.0' } as never,
      state: 'running' as const,
      reason: null,
      createdAt: 'x',
      createdBy: null,
      updatedAt: 'x',
    };
    const d = (deviceId: string) => ({
      deviceId,
      siteId: 'commune-1',
      ring: 0,
      state: 'pending' as const,
      dispatchedAt: null,
      lastReportAt: null,
      reason: null,
    });
    await t.rejects(repo.createRollout(rollout, [d('dev-1'), d('dev-1')]), 'a device twice');
    t.equal(await repo.rollout('r1'), undefined, 'no half-made rollout');
    await repo.createRollout(rollout, [d('dev-1'), d('dev-2')]);
    await repo.updateDevice('r1', {
      deviceId: 'dev-1',
      state: 'in-flight',
      dispatchedAt: 1_767_225_600_000,
      lastReportAt: null,
      reason: null,
    });
    t.match(
      (await repo.devices('r1'))[0],
      { state: 'in-flight', dispatchedAt: 1_767_225_600_000 },
      'a time in ms fits',
    );
    t.same(
      (await repo.activeRollouts()).map((x) => x.id),
      ['r1'],
    );
    await repo.putStatus('dev-1', { v: 1, state: 'idle', cacheUrl: 'http://10.0.0.1:8081' } as never, 'a');
    await repo.putStatus('dev-1', { v: 1, state: 'idle' } as never, 'b');
    t.same([...(await repo.cacheUrls())], [['dev-1', 'http://10.0.0.1:8081']]);
  });

  t.test('meetings: sites with the meeting, the window query, one secret whoever asks first', async (t) => {
    const r = await open(t);
    const repo = await MeetingsRepo.open(r.db);
    const base = Date.UTC(2026, 0, 1, 8);
    const m = (id: string, start: number) => meeting(id, start, base);
    await repo.insert(m('m1', base));
    await repo.insert(m('m2', base + 7_200_000));
    t.same((await repo.get('m1'))?.siteIds, ['commune-1', 'commune-2', 'district-1']);
    t.same(
      (await repo.inWindow(base + 1_800_000, base + 1_900_000)).map((x) => x.id),
      ['m1'],
    );
    t.equal(await repo.end('m1', base + 60_000), true);
    t.equal(await repo.end('m1', base + 90_000), false);
    t.same(
      (await repo.inWindow(base + 1_800_000, base + 1_900_000)).map((x) => x.id),
      [],
      'ended early',
    );
    const secrets = await Promise.all(Array.from({ length: 5 }, (_, i) => repo.secret('k', () => `value-${i}`)));
    t.equal(new Set(secrets).size, 1, 'every caller gets the one stored secret');
  });

  t.test('meetings: requests to speak, one waiting per site, an answered hand stays answered', async (t) => {
    const r = await open(t);
    const repo = await MeetingsRepo.open(r.db);
    const requests = new SpeakRequestsRepo(r.db);
    const base = Date.UTC(2026, 0, 1, 8);
    await repo.insert(meeting('m1', base, base));
    const at = (min: number) => new Date(base + min * 60_000).toISOString();
    const hand = (min: number) => ({
      siteId: 'commune-2',
      at: at(min),
      source: 'browser' as const,
      participantId: 'commune-2.web1',
    });
    t.equal(await requests.add('m1', { siteId: 'commune-1', at: at(1), source: 'button' }), true);
    t.equal(await requests.add('m1', { siteId: 'commune-1', at: at(2), source: 'button' }), false, 'a site waits once');
    t.equal(await requests.add('m1', hand(3)), true);
    t.same(
      (await requests.waiting('m1')).map((x) => x.siteId),
      ['commune-1', 'commune-2'],
      'in the order taken',
    );
    t.same(await requests.answer('m1', 'commune-2', base), hand(3), "the answer names the browser's participant");
    t.equal(await requests.answer('m1', 'commune-2', base), null, 'answered once');
    t.equal(await requests.add('m1', hand(3)), false, 'the same hand reported again stays answered');
    t.equal(await requests.add('m1', hand(2)), false, 'and so does an older one');
    t.equal(await requests.add('m1', hand(4)), true, 'a new hand is a new request');
    const both = await Promise.all([
      requests.answer('m1', 'commune-1', base),
      requests.answer('m1', 'commune-1', base),
    ]);
    t.equal(both.filter((x) => x !== null).length, 1, 'two nodes answering at once: one answers');
    t.equal(await requests.clearEnded(base + 60_000), 0, 'a live meeting keeps its requests');
    await repo.end('m1', base + 120_000);
    t.ok((await requests.clearEnded(base + 180_000)) > 0);
    t.same(await requests.waiting('m1'), [], 'gone with the meeting');
  });

  t.test('meetings: join links by id, revoked ones until they expire', async (t) => {
    const r = await open(t);
    const repo = await MeetingsRepo.open(r.db);
    const links = new JoinLinksRepo(r.db);
    const base = Date.UTC(2026, 0, 1, 8);
    await repo.insert(meeting('m1', base, base));
    const link = (jti: string, siteId: string, expiresAt: number) => ({
      jti,
      meetingId: 'm1',
      siteId,
      role: 'participant' as const,
      issuedAt: base,
      expiresAt,
      issuedBy: 'op-1',
      revokedAt: null,
      revokedBy: null,
    });
    await links.insert(link('link-aaaaaaaa', 'commune-1', base + 3_600_000));
    await links.insert(link('link-bbbbbbbb', 'commune-1', base + 600_000));
    await links.insert(link('link-cccccccc', 'commune-2', base + 3_600_000));
    t.equal(await links.count('m1'), 3);
    t.equal(await links.revoke(['link-aaaaaaaa', 'link-bbbbbbbb'], 'op-2', base + 60_000), 2);
    t.equal(await links.revoke(['link-aaaaaaaa'], 'op-3', base + 90_000), 0, 'revoked once');
    t.match(await links.get('m1', 'link-aaaaaaaa'), { revokedBy: 'op-2', revokedAt: base + 60_000 });
    t.equal(await links.revokedLive('m1', 'commune-1', base + 120_000), 2);
    t.same(
      [...((await links.revokedUnexpired(base + 120_000)).get('m1') ?? [])],
      [['commune-1', ['link-aaaaaaaa', 'link-bbbbbbbb']]],
    );
    t.same(
      [...((await links.revokedUnexpired(base + 700_000)).get('m1') ?? [])],
      [['commune-1', ['link-aaaaaaaa']]],
      'an expired link drops off the list',
    );
  });

  t.test('self-tests: a redelivered result is stored once, each device keeps its newest', async (t) => {
    const r = await open(t);
    await r.db.migrate(HEALTH_MIGRATIONS);
    const repo = new SelfTestsRepo(r.db, 3);
    const result = (i: number) =>
      ({ startedAt: `2026-01-01T00:00:0${i}.000Z`, finishedAt: `2026-01-01T00:00:0${i}.500Z`, ok: true }) as never;
    t.equal(await repo.add('dev-1', result(1), 'x'), true);
    t.equal(await repo.add('dev-1', result(1), 'x'), false);
    for (let i = 2; i <= 6; i++) await repo.add('dev-1', result(i), 'x');
    t.equal((await repo.list('dev-1', 10)).length, 3);
  });
}

/** A meeting row for the meetings' repositories. */
function meeting(id: string, start: number, createdAt: number): MeetingRecord {
  return {
    id,
    title: id,
    chairSiteId: 'district-1',
    siteIds: ['commune-2', 'commune-1', 'district-1'],
    startsAt: start,
    endsAt: start + 3_600_000,
    endedAt: null,
    mutedAll: false,
    floorSiteId: null,
    floorParticipantId: null,
    rollCallSiteId: null,
    createdAt,
    createdBy: 'op-1',
  };
}
