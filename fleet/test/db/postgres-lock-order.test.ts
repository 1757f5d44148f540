// On PostgreSQL, a leader taking over writes many devices' presence at once
// while the nodes keep writing telemetry batches that touch the same device
// rows. At 10,000 boxes (bench:cluster --store postgres) the two deadlocked:
// the leader's write locked rows in the table's physical order, a batch in the order its
// samples arrived. Both now lock device rows in id order. Here the race is
// made certain: a third transaction holds one row in the middle until both
// writers wait on the server, so each has taken the rows on its side of it.
import t from 'tap';
import pg from 'pg';
import pino from 'pino';
import type { Telemetry } from '@diemcau/shared';
import { PostgresDb } from '../../src/db/postgres.js';
import { DevicesRepo } from '../../src/db/devices-repo.js';
import { TelemetryRepo } from '../../src/db/telemetry-repo.js';
import { startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/fleet.js';

const sample = (seq: number): Telemetry => ({
  v: 1,
  seq,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  cpu: { loadPercent: 1 },
  memory: { usedBytes: 1, totalBytes: 2 },
  disk: { usedBytes: 1, totalBytes: 2 },
  network: { rxBytesPerSec: 0, txBytesPerSec: 0 },
  uptimeSec: seq,
});

t.test('a many-device presence write and a telemetry batch lock device rows in the same order', async (t) => {
  const server = await startPostgres(t);
  const url = await server.createDatabase();
  const db = await PostgresDb.open({ url, poolSize: 4 }, pino({ level: 'silent' }));
  t.teardown(() => db.close());
  const ids = Array.from({ length: 20 }, (_, i) => `dev-${String(i + 1).padStart(2, '0')}`);
  const now = new Date().toISOString();
  await db.run('INSERT INTO sites (id, name, kind, parent_id, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?)', [
    's1',
    'Site',
    'commune',
    now,
    now,
  ]);
  for (const id of ids)
    await db.run('INSERT INTO devices (id, site_id, password_hash, online, enrolled_at) VALUES (?, ?, ?, 1, ?)', [
      id,
      's1',
      'x',
      now,
    ]);

  const blocker = new pg.Client({ connectionString: url });
  const watch = new pg.Client({ connectionString: url });
  await blocker.connect();
  await watch.connect();
  t.teardown(() => Promise.all([blocker.end(), watch.end()]));
  const waiting = async (): Promise<number> =>
    Number(
      (
        await watch.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
      ).rows[0]!.n,
    );
  await blocker.query('BEGIN');
  await blocker.query("UPDATE devices SET last_seen_at = 'held' WHERE id = 'dev-10'");

  // The batch's samples arrive from the last device to the first.
  const batch = [...ids].reverse().map((deviceId, i) => ({ deviceId, sample: sample(i + 1), receivedAt: now }));
  const written = new TelemetryRepo(db, 100).insertBatch(batch).then(
    (n) => ({ ok: true as const, n }),
    (err: Error) => ({ ok: false as const, err }),
  );
  await waitFor(async () => (await waiting()) === 1, 20_000, 'the batch waiting on the held row');
  const reset = new DevicesRepo(db).setPresenceMany([...ids].reverse(), false, now).then(
    () => ({ ok: true as const }),
    (err: Error) => ({ ok: false as const, err }),
  );
  await waitFor(async () => (await waiting()) === 2, 20_000, 'the presence write waiting too');
  await blocker.query('COMMIT');

  const [w, r] = await Promise.all([written, reset]);
  t.ok(w.ok, `the batch is written${w.ok ? '' : `: ${w.err.message}`}`);
  t.ok(r.ok, `the presence write is done${r.ok ? '' : `: ${r.err.message}`}`);
  if (w.ok) t.equal(w.n, ids.length);
  t.equal(
    (await db.get<{ n: number }>('SELECT count(*) AS n FROM devices WHERE online = 1'))!.n,
    0,
    'and none is online now',
  );
});
