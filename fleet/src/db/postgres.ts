import pg from 'pg';
import type { Logger } from 'pino';
import { TxContext, type Dialect, type FleetDb, type RunResult, type SqlParams, type TxOptions } from './database.js';
import { CORE_MIGRATIONS, sqlFor, type Migration } from './migrations.js';

/**
 * The registry in PostgreSQL, for a cluster of fleet nodes: a pool of
 * connections, each transaction on one of them. The repositories' SQL is the
 * same as SQLite's; `?` and `@name` placeholders become `$n` here (placeholders.ts).
 */
export interface PostgresOptions {
  url: string;
  /** Connections in the pool (each fleet node has its own pool). */
  poolSize: number;
}

// BIGINT (counts, ids, timestamps in ms) comes back as a JS number: none of ours reaches 2^53.
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

// Which transactions take turns (TxOptions.lock): one advisory lock per name, hashed by the server.
const LOCK_SQL = 'SELECT pg_advisory_xact_lock(hashtext($1))';
// Migrations from several nodes starting at once run one node at a time.
const MIGRATION_LOCK = 'diemcau-migrations';

export class PostgresDb implements FleetDb {
  readonly dialect: Dialect = 'postgres';
  private readonly pool: pg.Pool;
  private readonly txs = new TxContext<pg.PoolClient>();
  /** The query asked last on each connection inside a transaction (onConn). */
  private readonly turns = new WeakMap<pg.PoolClient, Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly opts: PostgresOptions,
    private readonly log: Logger,
  ) {
    this.pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize, types });
    // An idle connection that the server drops (restart, failover) must not crash the fleet.
    this.pool.on('error', (err) => this.log.warn({ err }, 'idle PostgreSQL connection lost'));
  }

  /** Connects, creates the migrations table if needed and applies the core migrations. */
  static async open(opts: PostgresOptions, log: Logger): Promise<PostgresDb> {
    const db = new PostgresDb(opts, log);
    try {
      await db.tx(
        () => db.exec('CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)'),
        { lock: MIGRATION_LOCK },
      );
      await db.migrate(CORE_MIGRATIONS);
    } catch (err) {
      await db.close();
      throw err;
    }
    return db;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async all<T>(sql: string, params?: SqlParams): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async get<T>(sql: string, params?: SqlParams): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async run(sql: string, params?: SqlParams): Promise<RunResult> {
    return { changes: (await this.query(sql, params)).rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    // No parameters: the simple protocol, which takes several statements.
    const frame = this.txs.current();
    if (frame)
      await this.txs.track(
        frame,
        this.onConn(frame.conn, () => frame.conn.query(sql)),
      );
    else await this.pool.query(sql);
  }

  async tx<T>(fn: () => Promise<T>, opts: TxOptions = {}): Promise<T> {
    const outer = this.txs.current();
    if (outer) {
      return this.txs.nested(
        outer,
        (s) => this.exec(s),
        async () => {
          if (opts.lock !== undefined) await this.onConn(outer.conn, () => outer.conn.query(LOCK_SQL, [opts.lock]));
          return fn();
        },
      );
    }
    const client = await this.pool.connect();
    let broken = false;
    // The server may end the session mid-transaction (a restart, or a fence's idle timeout): the
    // query in flight fails with the reason; the client's own error event must not crash the node.
    const lost = (err: Error): void => {
      broken = true;
      this.log.warn({ err: err.message }, 'PostgreSQL connection lost inside a transaction');
    };
    client.on('error', lost);
    try {
      await client.query('BEGIN');
      try {
        if (opts.lock !== undefined) await client.query(LOCK_SQL, [opts.lock]);
        const { out } = await this.txs.run(client, fn);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          // The connection is in an unknown state: it leaves the pool.
          broken = true;
          this.log.warn({ err: e }, 'rollback failed');
        });
        throw err;
      }
    } finally {
      client.removeListener('error', lost);
      client.release(broken);
    }
  }

  inTransaction(): boolean {
    return this.txs.current() !== undefined;
  }

  async migrate(migrations: readonly Migration[]): Promise<void> {
    for (const m of migrations) {
      const done = await this.tx(
        async () => {
          // Checked under the lock: another node may have applied it meanwhile.
          if (await this.get('SELECT 1 FROM migrations WHERE name = ?', [m.name])) return false;
          await this.exec(sqlFor(m, 'postgres'));
          await this.run('INSERT INTO migrations (name, applied_at) VALUES (?, ?)', [m.name, new Date().toISOString()]);
          return true;
        },
        { lock: MIGRATION_LOCK },
      );
      if (done) this.log.info({ migration: m.name }, 'migration applied');
    }
  }

  /** A connection of its own outside the pool (PgSession, below): for the leader lease. */
  session(timeoutMs: number): PgSession {
    return new PgSession(this.opts.url, timeoutMs, this.log);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private query(sql: string, params: SqlParams | undefined): Promise<pg.QueryResult> {
    const { text, values } = toPositional(sql, params);
    const frame = this.txs.current();
    if (frame)
      return this.txs.track(
        frame,
        this.onConn(frame.conn, () => frame.conn.query(text, values)),
      );
    return this.pool.query(text, values);
  }

  /**
   * A transaction's queries, one at a time on its connection: side chains of
   * its body (a Promise.all of look-ups) would otherwise hand pg a query while
   * another runs, which pg queues itself but deprecates (an error in pg 9).
   */
  private onConn<T>(conn: pg.PoolClient, query: () => Promise<T>): Promise<T> {
    const run = (this.turns.get(conn) ?? Promise.resolve()).then(query, query);
    this.turns.set(
      conn,
      run.catch(() => undefined),
    );
    return run;
  }
}

/**
 * One connection of its own, outside the pool, for work that must never
 * queue behind the node's own (the leader lease's renewals: at 10,000 boxes
 * the pool is busy with telemetry batches and presence writes). Connected on
 * first use and again after it is lost. A query with no answer in timeoutMs
 * fails and the connection is dropped: the caller cannot tell whether it was
 * done, and must treat it so.
 */
export class PgSession {
  private conn: Promise<pg.Client> | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** The query asked last: the next waits for it (one connection answers one query at a time). */
  private tail: Promise<unknown> = Promise.resolve();

  get<T>(sql: string, params?: SqlParams): Promise<T | undefined> {
    const run = this.tail.then(() => this.query<T>(sql, params));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async query<T>(sql: string, params?: SqlParams): Promise<T | undefined> {
    if (this.closed) throw new Error('PostgreSQL session closed');
    const conn = (this.conn ??= this.connect());
    try {
      const { text, values } = toPositional(sql, params);
      return (await (await conn).query(text, values)).rows[0] as T | undefined;
    } catch (err) {
      this.drop(conn);
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    if (this.conn) this.drop(this.conn);
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      types,
      query_timeout: this.timeoutMs,
      connectionTimeoutMillis: this.timeoutMs,
    });
    // A lost connection must not crash the node: the next query connects again.
    client.on('error', (err) => this.log.warn({ err: err.message }, 'PostgreSQL session lost'));
    await client.connect();
    return client;
  }

  private drop(conn: Promise<pg.Client>): void {
    if (this.conn === conn) this.conn = undefined;
    conn.then(
      (c) => c.end().catch(() => undefined),
      () => undefined,
    );
  }
}

interface Compiled {
  text: string;
  /** For named parameters: the name of each $n, in order. */
  names: string[] | null;
}

const compiled = new Map<string, Compiled>();

/**
 * `?` (with an array) or `@name` (with an object) to PostgreSQL's `$n`; a
 * name used twice is one parameter. Quoted text ('…', "…") is left alone.
 * Compiled once per statement text.
 */
export function toPositional(sql: string, params: SqlParams | undefined): { text: string; values: unknown[] } {
  let c = compiled.get(sql);
  if (!c) {
    c = compile(sql);
    compiled.set(sql, c);
  }
  if (params === undefined) return { text: c.text, values: [] };
  if (Array.isArray(params)) return { text: c.text, values: params as unknown[] };
  const named = params as Readonly<Record<string, unknown>>;
  return {
    text: c.text,
    values: (c.names ?? []).map((n) => {
      if (!(n in named)) throw new Error(`SQL parameter @${n} has no value`);
      return named[n];
    }),
  };
}

function compile(sql: string): Compiled {
  let out = '';
  let positional = 0;
  const names: string[] = [];
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"') {
      const end = sql.indexOf(ch, i + 1);
      const stop = end === -1 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (ch === '?') {
      out += `$${++positional}`;
    } else if (ch === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))!;
      let k = names.indexOf(m[0]);
      if (k === -1) k = names.push(m[0]) - 1;
      out += `$${k + 1}`;
      i += m[0].length;
    } else {
      out += ch;
    }
  }
  return { text: out, names: names.length > 0 ? names : null };
}
