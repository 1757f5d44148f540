// Finding and talking to pg_dump and pg_restore: where they are looked for,
// what an operator is told when they are missing or are not what they claim,
// and that a password never reaches a command line or a message. (Running
// them against a real server is postgres-roundtrip.test.ts.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { connectionArgs, findPgTool, redactUrl, tableInProgress } from '../../src/backup/pg-tools.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-pgtools-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A stand-in program in its own folder that prints `says` for --version. */
function fakeTool(name: string, says: string): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'bin-'));
  fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho '${says}'\n`, { mode: 0o755 });
  return dir;
}

t.test('the tool is found in DIEMCAU_PG_TOOLS_DIR, else on the PATH, and its version read', async (t) => {
  const given = fakeTool('pg_dump', 'pg_dump (PostgreSQL) 16.4 (Debian 16.4-1)');
  const onPath = fakeTool('pg_dump', 'pg_dump (PostgreSQL) 15.14');
  const a = await findPgTool('pg_dump', { dir: given, env: { PATH: onPath } });
  t.same([a.bin, a.version, a.major], [path.join(given, 'pg_dump'), '16.4', 16], 'the setting wins over the PATH');
  const b = await findPgTool('pg_dump', { env: { PATH: `${path.join(tmp, 'nothing')}:${onPath}` } });
  t.same([b.bin, b.major], [path.join(onPath, 'pg_dump'), 15], 'the first PATH entry that has it');
  fs.writeFileSync(path.join(given, 'pg_restore'), 'not executable', { mode: 0o644 });
  await t.rejects(
    findPgTool('pg_restore', { dir: given, env: { PATH: onPath } }),
    /pg_restore not found \(looked in DIEMCAU_PG_TOOLS_DIR=.*\): install .*postgresql-client-15/,
    'a file that cannot be run is not the tool, and the PATH is not searched when the setting is given',
  );
  await t.rejects(
    findPgTool('pg_dump', { dir: fakeTool('pg_dump', 'something else 1.0'), env: {} }),
    /said "something else 1.0": not pg_dump/,
  );
});

t.test('passwords stay out of command lines and messages', async (t) => {
  t.same(connectionArgs('postgres://fleet:p%40ss%3Aword@db.example:5433/diemcau?sslmode=require'), {
    dbname: 'postgres://fleet@db.example:5433/diemcau?sslmode=require',
    password: 'p@ss:word',
  });
  t.same(connectionArgs('postgres://fleet@db/diemcau'), { dbname: 'postgres://fleet@db/diemcau' });
  t.equal(redactUrl('postgresql://fleet:secret@db:5432/diemcau'), 'postgresql://fleet:***@db:5432/diemcau');
  t.equal(redactUrl('not a url secret'), '(not a URL)');
});

t.test('progress: the table a verbose pg_dump or pg_restore is at', async (t) => {
  t.equal(tableInProgress('pg_dump: dumping contents of table "public.devices"'), 'public.devices');
  t.equal(tableInProgress('pg_restore: processing data for table "public.audit_log"'), 'public.audit_log');
  t.equal(tableInProgress('pg_restore: creating TABLE "public.devices"'), undefined);
});
