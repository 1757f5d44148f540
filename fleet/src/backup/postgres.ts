// The registry's part of a backup when it lives in PostgreSQL (cluster mode).
// Backup: one REPEATABLE READ transaction exports its snapshot; the row counts
// and the list of ready releases are read in it, and pg_dump (custom format)
// dumps that same snapshot, so the archive's manifest, its release artifacts
// and its dump agree with each other while every node keeps writing.
// Restore: pg_restore into the database DIEMCAU_DATABASE_URL names, which
// must be empty unless the operator says to overwrite it; one transaction, so
// a failed restore leaves the database as it was.
import { execFile } from 'node:child_process';
import pg from 'pg';
import type { Logger } from 'pino';
import { DiemcauError } from '@diemcau/shared';
import { findPgTool, redactUrl, runPgTool, type PgToolsOptions } from './pg-tools.js';

/** The tables whose row counts the manifest carries (the same in both stores). */
export const COUNTED = ['sites', 'devices', 'operators', 'audit_log', 'alerts', 'commands', 'ota_releases', 'meetings'];

export interface RegistrySnapshot {
  counts: Record<string, number>;
  /** Releases whose artifact was uploaded and checked, at the snapshot. */
  ready: { version: string; manifest: string }[];
}

export interface PgDumpResult extends RegistrySnapshot {
  server: string;
  pgDump: string;
  tables: number;
}

async function connect(url: string, log: Logger): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: 'diemcau-backup',
  });
  // A connection the server ends mid-way fails the query in flight; the event itself must not crash us.
  client.on('error', (err) => log.warn({ err: err.message }, 'PostgreSQL connection lost'));
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new DiemcauError(
      'FLEET_ERR_BACKUP',
      `cannot connect to PostgreSQL at ${redactUrl(url)} (DIEMCAU_DATABASE_URL): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return client;
}

const publicTables = async (c: pg.Client): Promise<string[]> =>
  (
    await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
  ).rows.map((r) => r.t);

async function countRows(c: pg.Client, tables: string[]): Promise<Record<string, number>> {
  const have = new Set(tables);
  const counts: Record<string, number> = {};
  for (const t of COUNTED.filter((x) => have.has(x)))
    counts[t] = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n);
  return counts;
}

/** Dumps the registry at `url` into `file` (pg_dump's custom format), consistent with the counts and releases returned. */
export async function dumpPostgres(
  url: string,
  file: string,
  tools: PgToolsOptions,
  log: Logger,
): Promise<PgDumpResult> {
  const pgDump = await findPgTool('pg_dump', tools);
  const client = await connect(url, log);
  try {
    const server = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    const serverMajor =
      Number((await client.query<{ n: string }>("SELECT current_setting('server_version_num') AS n")).rows[0]!.n) /
      10000;
    if (pgDump.major < Math.floor(serverMajor))
      throw new DiemcauError(
        'FLEET_ERR_BACKUP',
        `${pgDump.bin} is version ${pgDump.version} and cannot dump a PostgreSQL ${server} server: install the client programs of ${Math.floor(serverMajor)} or later`,
      );
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    const tables = await publicTables(client);
    if (!tables.includes('migrations') || !tables.includes('devices'))
      throw new DiemcauError(
        'FLEET_ERR_BACKUP',
        `the database at ${redactUrl(url)} holds no fleet registry (no migrations or devices table)`,
      );
    const counts = await countRows(client, tables);
    const ready = tables.includes('ota_releases')
      ? (
          await client.query<{ version: string; manifest: string }>(
            'SELECT version, manifest FROM ota_releases WHERE artifact_ready = 1 ORDER BY version',
          )
        ).rows
      : [];
    log.info({ server, pgDump: pgDump.version, snapshot, tables: tables.length, counts }, 'snapshot exported: dumping');
    const started = Date.now();
    // The exported snapshot holds only while this transaction stays open: it ends after pg_dump.
    await runPgTool(
      pgDump,
      ['--format=custom', `--snapshot=${snapshot}`, `--file=${file}`],
      { url, tables: tables.length },
      tools,
      log,
    );
    await client.query('COMMIT');
    log.info({ ms: Date.now() - started }, 'registry dumped');
    return { counts, ready, server, pgDump: pgDump.version, tables: tables.length };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Checks that `file` is an archive pg_restore can read (its table of contents), before anything is restored. */
export async function checkDump(file: string, tools: PgToolsOptions, log: Logger): Promise<void> {
  const pgRestore = await findPgTool('pg_restore', tools);
  await new Promise<void>((resolve, reject) =>
    execFile(pgRestore.bin, ['--list', file], { env: tools.env, maxBuffer: 64 * 1024 * 1024 }, (err, _out, stderr) =>
      err
        ? reject(
            new DiemcauError(
              'FLEET_ERR_BACKUP',
              `the registry's dump cannot be read by ${pgRestore.bin}: ${stderr.trim()}`,
              {
                cause: err,
              },
            ),
          )
        : resolve(),
    ),
  );
  log.debug({ pgRestore: pgRestore.version }, 'dump readable');
}

/** The tables, views and sequences a database holds outside PostgreSQL's own schemas (a few names, and how many). */
async function userRelations(c: pg.Client): Promise<{ count: number; some: string[] }> {
  const rows = (
    await c.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY 1`,
    )
  ).rows;
  return { count: rows.length, some: rows.slice(0, 5).map((r) => r.name) };
}

/** Whether the database at `url` can take the restore; throws FLEET_ERR_BACKUP when it cannot (unreachable, or not empty and not to be overwritten). */
export async function checkRestoreTarget(url: string, overwrite: boolean, log: Logger): Promise<void> {
  const client = await connect(url, log);
  try {
    const { count, some } = await userRelations(client);
    if (count === 0) return;
    if (!overwrite)
      throw new DiemcauError(
        'FLEET_ERR_BACKUP',
        `the database at ${redactUrl(url)} is not empty (${count} tables, views or sequences: ${some.join(', ')}${count > some.length ? ', …' : ''}): ` +
          'restore into an empty database (createdb), or stop every fleet node and pass --overwrite to replace what the backup holds',
      );
    log.warn(
      { database: redactUrl(url), relations: count },
      'the database is not empty: the backup replaces what it holds',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Restores `file` into the database at `url` in one transaction; returns the row counts found there afterwards. */
export async function restorePostgres(
  url: string,
  file: string,
  o: { overwrite: boolean; tables?: number },
  tools: PgToolsOptions,
  log: Logger,
): Promise<Record<string, number>> {
  const pgRestore = await findPgTool('pg_restore', tools);
  const started = Date.now();
  // Objects belong to whoever restores (the fleet's role on the new server), not to the old roles.
  await runPgTool(
    pgRestore,
    [
      '--single-transaction',
      '--exit-on-error',
      '--no-owner',
      '--no-privileges',
      ...(o.overwrite ? ['--clean', '--if-exists'] : []),
      file,
    ],
    { url, tables: o.tables },
    tools,
    log,
  );
  const client = await connect(url, log);
  try {
    const counts = await countRows(client, await publicTables(client));
    log.info({ ms: Date.now() - started, counts }, 'registry restored');
    return counts;
  } finally {
    await client.end().catch(() => undefined);
  }
}
