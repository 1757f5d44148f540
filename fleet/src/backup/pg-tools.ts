// PostgreSQL's own client programs, pg_dump and pg_restore, found and run
// for the backup of a fleet whose registry is in PostgreSQL. One owner for
// the child processes: it finds the program (DIEMCAU_PG_TOOLS_DIR, else the
// PATH, else where Debian's postgresql-client-15 puts it), keeps the
// password out of the command line (the URL goes without it, the password in
// PGPASSWORD), turns each table the program reports into a progress log line,
// and a failed run into FLEET_ERR_BACKUP with the program's own last words.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { DiemcauError } from '@diemcau/shared';

/** Where Debian's postgresql-client-15 installs its programs (not on the PATH without postgresql-client-common). */
export const DEBIAN_PG_BIN = '/usr/lib/postgresql/15/bin';

export type PgToolName = 'pg_dump' | 'pg_restore';

/** Where to look for the programs, and the environment they run in (given by main.ts, the only reader of it). */
export interface PgToolsOptions {
  /** DIEMCAU_PG_TOOLS_DIR: look only here. */
  dir?: string;
  env: NodeJS.ProcessEnv;
}

export interface PgTool {
  name: PgToolName;
  bin: string;
  /** e.g. "15.14" */
  version: string;
  major: number;
}

const isExecutable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

/** The program and its version; FLEET_ERR_BACKUP saying where it looked and what to install when it is not there. */
export async function findPgTool(name: PgToolName, opts: PgToolsOptions): Promise<PgTool> {
  const dirs =
    opts.dir !== undefined
      ? [opts.dir]
      : [...(opts.env.PATH ?? '').split(path.delimiter).filter((d) => d !== ''), DEBIAN_PG_BIN];
  const bin = dirs.map((d) => path.resolve(d, name)).find(isExecutable);
  if (!bin)
    throw new DiemcauError(
      'FLEET_ERR_BACKUP',
      `${name} not found (looked in ${opts.dir !== undefined ? `DIEMCAU_PG_TOOLS_DIR=${opts.dir}` : `the PATH and ${DEBIAN_PG_BIN}`}): ` +
        "install PostgreSQL's client programs of the server's major version or later (Debian: apt-get install postgresql-client-15), or point DIEMCAU_PG_TOOLS_DIR at them",
    );
  let out: string;
  try {
    ({ stdout: out } = await promisify(execFile)(bin, ['--version'], { env: opts.env, timeout: 30_000 }));
  } catch (err) {
    throw new DiemcauError('FLEET_ERR_BACKUP', `${bin} --version failed: not a working ${name}`, { cause: err });
  }
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(out);
  if (!m)
    throw new DiemcauError('FLEET_ERR_BACKUP', `${bin} --version said ${JSON.stringify(out.trim())}: not ${name}`);
  return { name, bin, version: m[2] === undefined ? m[1]! : `${m[1]}.${m[2]}`, major: Number(m[1]) };
}

/** The URL with its password masked, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/** What a program is given to connect: the URL without its password, and the password for PGPASSWORD. */
export function connectionArgs(url: string): { dbname: string; password?: string } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  return { dbname: u.toString(), ...(password === undefined ? {} : { password }) };
}

/** A table a --verbose pg_dump or pg_restore is at, from one line of its stderr. */
export function tableInProgress(line: string): string | undefined {
  return /(?:dumping contents of|processing data for) table "([^"]+)"/.exec(line)?.[1];
}

/**
 * Runs `tool` with `args` (plus --verbose and the connection) and resolves when
 * it exits 0. Each table it reaches is logged (`n` of `tables`, when known).
 */
export function runPgTool(
  tool: PgTool,
  args: string[],
  conn: { url: string; tables?: number },
  opts: PgToolsOptions,
  log: Logger,
): Promise<void> {
  const { dbname, password } = connectionArgs(conn.url);
  const child = spawn(tool.bin, ['--verbose', `--dbname=${dbname}`, ...args], {
    env: {
      ...opts.env,
      PGCONNECT_TIMEOUT: opts.env.PGCONNECT_TIMEOUT ?? '10',
      PGAPPNAME: `diemcau-${tool.name}`,
      ...(password === undefined ? {} : { PGPASSWORD: password }),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const tail: string[] = [];
  let done = 0;
  let partial = '';
  const onLine = (line: string): void => {
    if (line === '') return;
    tail.push(line);
    if (tail.length > 20) tail.shift();
    const table = tableInProgress(line);
    if (table !== undefined) log.info({ table, n: ++done, of: conn.tables }, `${tool.name}: table`);
    else if (/\b(error|warning|fatal):/i.test(line)) log.warn({ line }, tool.name);
    else log.debug({ line }, tool.name);
  };
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    lines.forEach(onLine);
  });
  return new Promise((resolve, reject) => {
    child.once('error', (err) =>
      reject(new DiemcauError('FLEET_ERR_BACKUP', `${tool.bin} could not be started`, { cause: err })),
    );
    child.once('close', (code, signal) => {
      onLine(partial);
      if (code === 0) return resolve();
      const said = tail.filter((l) => !tableInProgress(l)).slice(-5);
      reject(
        new DiemcauError(
          'FLEET_ERR_BACKUP',
          `${tool.name} ${signal ? `was killed by ${signal}` : `exited with ${code}`} (${redactUrl(conn.url)}): ${said.join(' | ')}`,
          { details: said },
        ),
      );
    });
  });
}
