// The leader lease in PostgreSQL (cluster/store-lease.ts) against a real
// server: one holder at a time, a term that only grows, a takeover once the
// row expires, and the fence: work of a node whose term has passed is refused
// by the store even while the node's own clock still says it leads.
import t from 'tap';
import pino from 'pino';
import pg from 'pg';
import { PostgresDb } from '../../src/db/postgres.js';
import { StoreLease } from '../../src/cluster/store-lease.js';
import { isNotLeader } from '../../src/cluster/leadership.js';
import { startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/fleet.js';

const log = pino({ level: process.env.TLOG ?? 'silent' });
const server = await startPostgres(t);

async function setup(t: { teardown(fn: () => unknown): void }, leaseMs: number) {
  const url = await server.createDatabase();
  const db = await PostgresDb.open({ url, poolSize: 8 }, log);
  t.teardown(() => db.close());
  const lease = (nodeId: string): StoreLease => {
    const l = new StoreLease({ db, nodeId, leaseMs, log });
    t.teardown(() => l.close());
    return l;
  };
  return { db, url, lease };
}

t.test('one holder; the other takes over when the holder hands back or stops renewing', async (t) => {
  const { db, lease } = await setup(t, 6000);
  const a = lease('a');
  a.start();
  await waitFor(() => a.isLeader, 10_000, 'a leads');
  const b = lease('b');
  const changes: boolean[] = [];
  b.onChange((l) => changes.push(l));
  b.start();
  await new Promise((r) => setTimeout(r, 3000));
  t.notOk(b.isLeader, 'b waits while a renews');
  t.equal(a.currentTerm, 1);
  await t.rejects(
    b.fence(async () => 'ran'),
    { code: 'FLEET_ERR_NOT_LEADER' },
    "b's fence refuses",
  );
  t.equal(await a.fence(async () => 'ran'), 'ran', "a's fence runs the work");

  await a.close();
  await waitFor(() => b.isLeader, 10_000, 'b takes over after a hands back');
  t.equal(b.currentTerm, 2, 'a new term');
  t.same(changes, [true]);
  const row = await db.get<{ holder: string; term: number }>('SELECT holder, term FROM cluster_leader');
  t.same(row, { holder: 'b', term: 2 });
});

t.test('a node whose term has passed is refused by the store, whatever its clock says', async (t) => {
  const { db, lease } = await setup(t, 60_000);
  const a = lease('a');
  a.start();
  await waitFor(() => a.isLeader, 10_000, 'a leads');
  await db.exec(`CREATE TABLE work (n INTEGER)`);
  // A stall as the store sees it: a's row runs out (a's own clock still gives it most of a minute) and b takes the row.
  await db.run(`UPDATE cluster_leader SET expires_at = clock_timestamp() - interval '1 second'`);
  const b = lease('b');
  b.start();
  await waitFor(() => b.isLeader, 10_000, 'b takes the expired row');
  t.ok(a.isLeader, "a's clock still says it leads");
  const err = await a
    .fence(() => db.run('INSERT INTO work VALUES (1)'))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  t.ok(isNotLeader(err), "a's fenced write is refused");
  await b.fence(() => db.run('INSERT INTO work VALUES (2)'));
  t.same(await db.all('SELECT n FROM work'), [{ n: 2 }], "only the current term's work is stored");
});

t.test(
  'a leader stalled inside fenced work: its session ends after a lease, its work is undone, the lead goes on',
  async (t) => {
    const { db, lease } = await setup(t, 2500);
    const a = lease('a');
    a.start();
    await waitFor(() => a.isLeader, 10_000, 'a leads');
    await db.exec(`CREATE TABLE work (n INTEGER)`);
    const b = lease('b');
    b.start();
    // a's work holds the row and stalls, as a process stopped mid-transaction: neither a's renewal nor b's takeover can pass it.
    let wake!: () => void;
    const stalled = a.fence(async () => {
      await db.run('INSERT INTO work VALUES (1)');
      await new Promise<void>((r) => (wake = r));
      await db.run('INSERT INTO work VALUES (2)');
    });
    stalled.catch(() => undefined);
    await waitFor(() => !a.isLeader, 10_000, 'a acts no more: its renewal waits behind the stalled work');
    // Whoever leads next (a renewing its own term, which nobody took, or b in a new one), the stalled work is never part of it.
    const next = await waitFor(
      () => [a, b].find((l) => l.isLeader),
      30_000,
      'a leader again once the server ended the stalled session',
    );
    t.ok(next, 'the lead goes on');
    wake();
    await t.rejects(stalled, 'the woken leader cannot go on');
    t.same(await db.all('SELECT n FROM work'), [], "the stalled leader's writes are undone");
  },
);

t.test(
  'a store that answers late is not a store that refused: the holder keeps its term, and its work waits',
  async (t) => {
    const { db, url, lease } = await setup(t, 2000);
    const a = lease('a');
    const changes: boolean[] = [];
    a.onChange((l) => changes.push(l));
    a.start();
    await waitFor(() => a.isLeader, 10_000, 'a leads');
    await db.exec(`CREATE TABLE work (n INTEGER)`);
    // The row held by another session for longer than the lease: a's renewals get no answer meanwhile.
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    t.teardown(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query('SELECT * FROM cluster_leader FOR UPDATE');
    const heldAt = Date.now();
    await waitFor(() => !a.isLeader, 10_000, 'a acts no more once its renewal is late');
    const work = a.fence(() => db.run('INSERT INTO work VALUES (1)'));
    work.catch(() => undefined);
    // Past the lease (the row's expiry passes), short of a whole lease past a's own deadline.
    await new Promise((r) => setTimeout(r, Math.max(0, heldAt + 2500 - Date.now())));
    await blocker.query('COMMIT');
    await waitFor(() => a.isLeader, 10_000, 'a leads again');
    await t.resolves(work, 'the work asked for meanwhile ran once the term was confirmed');
    t.same(changes, [true], 'the lead never changed hands');
    t.equal(a.currentTerm, 1, 'the same term');
    t.same(await db.all('SELECT n FROM work'), [{ n: 1 }]);
  },
);
