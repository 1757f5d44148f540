// The registry's WAL is copied into its file by a worker thread, not inside
// the commits of the thread that serves the boxes; if that worker fails, the
// commits checkpoint again as SQLite does by default.
import t from 'tap';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { SqliteDb } from '../../src/db/sqlite.js';
import { SqliteCheckpointer } from '../../src/db/sqlite-checkpointer.js';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'diemcau-checkpoint-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const size = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

t.test('the WAL reaches the file through the worker, and none of it is lost', async (t) => {
  const file = join(dir, 'registry.sqlite');
  const db = await SqliteDb.open(file, log);
  t.equal(
    db.sql.pragma('wal_autocheckpoint', { simple: true }),
    10_000,
    'commits checkpoint by themselves only past 10,000 pages (more than this test writes)',
  );
  await db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, data TEXT NOT NULL)');
  const before = size(file);
  // About 6 MiB: more than SQLite's own threshold (1,000 pages of 4 KiB).
  const row = 'x'.repeat(3000);
  for (let batch = 0; batch < 20; batch++)
    await db.tx(async () => {
      for (let i = 0; i < 100; i++) await db.run('INSERT INTO filler (data) VALUES (?)', [row]);
    });
  t.ok(size(`${file}-wal`) > 5 * 1024 * 1024, 'the commits went to the WAL');
  t.ok(
    await until(() => size(file) > before + 5 * 1024 * 1024, 10_000),
    `the worker copied them into the file (${before} → ${size(file)} bytes)`,
  );
  await db.close();
  t.equal(size(`${file}-wal`), 0, 'closing empties the WAL');

  const again = await SqliteDb.open(file, log);
  t.teardown(() => again.close());
  t.same(await again.get('SELECT count(*) AS n FROM filler'), { n: 2000 }, 'every row is there after a reopen');
});

t.test('a checkpointer that cannot work says so once, and stops', async (t) => {
  let failures = 0;
  const c = new SqliteCheckpointer(join(dir, 'missing.sqlite'), 100, log, () => failures++);
  t.teardown(() => c.stop());
  t.ok(await until(() => failures > 0, 10_000), 'the caller is told');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(failures, 1, 'once');
});
