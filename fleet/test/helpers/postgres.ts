// A real PostgreSQL for tests: Debian's server binaries, a fresh cluster in a
// temp dir owned by `postgres`, listening on a free port on 127.0.0.1 only,
// stopped and removed on teardown (and at process exit, should a test die
// before its teardown runs). Tests that need several clean registries take
// one database each from the same cluster (createDatabase), which costs a
// CREATE DATABASE rather than an initdb.
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Where Debian's postgresql-15 puts the server binaries (CI installs the same package). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication, loopback only). */
  url: string;
  port: number;
  /** A new, empty database on this server; its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Whether this machine can run the harness (the binaries exist and we may become `postgres`). */
export function postgresAvailable(): boolean {
  return existsSync(join(PG_BIN, 'pg_ctl')) && process.getuid?.() === 0 && spawnSync('id', ['postgres']).status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const asPostgres = (bin: string, args: string[]): [string, string[]] => [
  'runuser',
  ['-u', 'postgres', '--', join(PG_BIN, bin), ...args],
];

/** Starts a throwaway cluster; with `t`, stops it at the test's teardown. */
export async function startPostgres(t?: Teardown): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'diemcau-pg-'));
  const data = join(dir, 'data');
  // The socket goes to the temp dir too: nothing of the machine's own PostgreSQL is touched.
  chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  let started = false;
  const stopSync = (): void => {
    if (started) spawnSync(...asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' });
    started = false;
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);
  try {
    // No fsync: a test cluster that loses its data at a power cut loses nothing of value, and it is several times faster.
    await run(
      ...asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']),
    );
    const port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    await run(...asPostgres('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']));
    started = true;
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let next = 0;
    let stopped: Promise<void> | undefined;
    const server: TestPostgres = {
      url,
      port,
      async createDatabase(name = `t${process.pid}_${++next}`) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
        } finally {
          await client.end();
        }
        return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
      },
      stop() {
        stopped ??= (async () => {
          process.removeListener('exit', stopSync);
          if (started)
            await run(...asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'])).catch(
              () => undefined,
            );
          started = false;
          stopSync();
        })();
        return stopped;
      },
    };
    t?.teardown(() => server.stop());
    return server;
  } catch (err) {
    process.removeListener('exit', stopSync);
    stopSync();
    throw err;
  }
}

function uidOf(user: string): number {
  return Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
}

function gidOf(user: string): number {
  return Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
}
