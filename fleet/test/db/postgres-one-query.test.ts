// A PostgreSQL connection answers one query at a time. Inside a transaction
// every query goes to the transaction's one connection, and side chains of
// its body (a Promise.all over look-ups) used to hand pg a second query while
// the first ran: pg queued it itself, a use it deprecates (a warning in every
// node's log, an error in pg 9). The node now takes turns on the connection.
import t from 'tap';
import pino from 'pino';
import { PostgresDb } from '../../src/db/postgres.js';
import { startPostgres } from '../helpers/postgres.js';

t.test('side chains of a transaction take turns on its connection', async (t) => {
  const server = await startPostgres(t);
  const db = await PostgresDb.open({ url: await server.createDatabase(), poolSize: 2 }, pino({ level: 'silent' }));
  t.teardown(() => db.close());
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));

  const out = await db.tx(async () => {
    await db.run('CREATE TABLE turns (n INTEGER)');
    // Two chains at once, each with a slow query first, and a savepoint in a third.
    const [a, b, c] = await Promise.all([
      db.get<{ n: number }>('SELECT 1 AS n FROM pg_sleep(0.05)'),
      db.get<{ n: number }>('SELECT 2 AS n'),
      db.tx(async () => {
        await db.run('INSERT INTO turns (n) VALUES (?)', [3]);
        return db.get<{ n: number }>('SELECT n FROM turns');
      }),
      db.exec('SELECT 4'),
    ]);
    return [a?.n, b?.n, c?.n];
  });
  t.same(out, [1, 2, 3], 'every chain got its own answer');
  // Deprecation warnings are emitted on the next tick.
  await new Promise((r) => setImmediate(r));
  t.same(
    warnings.filter((w) => /already executing a query/.test(w)),
    [],
    'pg never had to queue a query behind another',
  );
});
