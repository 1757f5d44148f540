import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { TxContext, type Dialect, type FleetDb, type RunResult, type SqlParams, type TxOptions } from './database.js';
import { CORE_MIGRATIONS, sqlFor, type Migration } from './migrations.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';

type Statement = Database.Statement<unknown[], unknown>;

/**
 * The page cache, in KiB (SQLite's default is 2 MiB). 10,000 boxes' telemetry
 * inserts land all over the telemetry index and the devices table; with the
 * default most of them read their pages back from the OS.
 */
const CACHE_KIB = 64 * 1024;
/** How often the checkpoint worker copies the WAL into the file. */
const CHECKPOINT_EVERY_MS = 1000;
/**
 * The commits still checkpoint by themselves past this many WAL pages (40
 * MiB), in case the worker falls behind: a passive checkpoint cannot finish
 * while commits keep coming, and the WAL starts over only once one has.
 */
const BACKSTOP_PAGES = 10_000;
/** A WAL that grew in a storm is cut back to this size once it starts over. */
const WAL_KEEP_BYTES = 64 * 1024 * 1024;

/**
 * The embedded registry: one SQLite file through better-sqlite3. WAL with
 * synchronous=NORMAL: a commit is not fsynced (the WAL is at checkpoints),
 * so 10,000 devices' telemetry does not turn into an fsync storm; a power
 * cut can lose the last commits but never corrupts the file. Writers batch
 * into transactions on top of that, and checkpoints run in a worker thread
 * (sqlite-checkpointer.ts).
 *
 * better-sqlite3 is synchronous and has one connection, so a transaction
 * that awaits between its statements must keep everyone else out until it
 * ends: queries from outside it wait at the gate (FIFO), which is what
 * keeps an enrolment or a command fan-out atomic.
 */
export class SqliteDb implements FleetDb {
  readonly dialect: Dialect = 'sqlite';
  /** The raw handle, for SQLite-only work (online backup, tests' fixtures). */
  readonly sql: Database.Database;
  private readonly statements = new Map<string, Statement>();
  private readonly txs = new TxContext<null>();
  /** Resolves when the open transaction ends; undefined when none is open. */
  private gate: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private checkpointer: SqliteCheckpointer | undefined;

  private constructor(
    file: string,
    private readonly log: Logger,
    readonly: boolean,
  ) {
    this.sql = new Database(file, readonly ? { readonly: true, fileMustExist: true } : {});
    this.sql.pragma('busy_timeout = 5000');
    if (readonly) return;
    this.sql.pragma('journal_mode = WAL');
    this.sql.pragma('synchronous = NORMAL');
    this.sql.pragma(`cache_size = -${CACHE_KIB}`);
    this.sql.pragma('foreign_keys = ON');
    this.sql.exec(`CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`);
  }

  /** Opens (creating if needed) the file and applies the core migrations. */
  static async open(file: string, log: Logger): Promise<SqliteDb> {
    const db = new SqliteDb(file, log, false);
    try {
      await db.migrate(CORE_MIGRATIONS);
    } catch (err) {
      await db.close();
      throw err;
    }
    if (file !== ':memory:') db.checkpointInBackground();
    return db;
  }

  /** An existing registry file as it is, read only, nothing migrated (the importer's source). */
  static openReadOnly(file: string, log: Logger): SqliteDb {
    return new SqliteDb(file, log, true);
  }

  private checkpointInBackground(): void {
    const autocheckpoint = this.sql.pragma('wal_autocheckpoint', { simple: true }) as number;
    this.sql.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.sql.pragma(`journal_size_limit = ${WAL_KEEP_BYTES}`);
    this.checkpointer = new SqliteCheckpointer(this.sql.name, CHECKPOINT_EVERY_MS, this.log, () => {
      if (!this.closed) this.sql.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async all<T>(sql: string, params?: SqlParams): Promise<T[]> {
    await this.turn();
    return this.prepare(sql).all(...bind(params)) as T[];
  }

  async get<T>(sql: string, params?: SqlParams): Promise<T | undefined> {
    await this.turn();
    return this.prepare(sql).get(...bind(params)) as T | undefined;
  }

  async run(sql: string, params?: SqlParams): Promise<RunResult> {
    await this.turn();
    return { changes: this.prepare(sql).run(...bind(params)).changes };
  }

  async exec(sql: string): Promise<void> {
    await this.turn();
    this.sql.exec(sql);
  }

  async tx<T>(fn: () => Promise<T>, _opts: TxOptions = {}): Promise<T> {
    const outer = this.txs.current();
    if (outer) return this.txs.nested(outer, async (s) => void this.sql.exec(s), fn);
    while (this.gate) await this.gate;
    let open!: () => void;
    this.gate = new Promise((resolve) => (open = resolve));
    try {
      // IMMEDIATE: take the write lock now, so a second process on the file waits here, not at the first write.
      this.sql.exec('BEGIN IMMEDIATE');
      try {
        const { out } = await this.txs.run(null, fn);
        this.sql.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.sql.inTransaction) this.sql.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.gate = undefined;
      open();
    }
  }

  inTransaction(): boolean {
    return this.txs.current() !== undefined;
  }

  async migrate(migrations: readonly Migration[]): Promise<void> {
    const applied = new Set((await this.all<{ name: string }>('SELECT name FROM migrations')).map((r) => r.name));
    for (const m of migrations) {
      if (applied.has(m.name)) continue;
      await this.tx(async () => {
        this.sql.exec(sqlFor(m, 'sqlite'));
        await this.run('INSERT INTO migrations (name, applied_at) VALUES (?, ?)', [m.name, new Date().toISOString()]);
      });
      this.log.info({ migration: m.name }, 'migration applied');
    }
  }

  async ping(): Promise<void> {
    await this.get('SELECT 1');
  }

  close(): Promise<void> {
    return (this.closing ??= this.shut());
  }

  private async shut(): Promise<void> {
    await this.checkpointer?.stop();
    // From the last transaction's end to the connection's close nothing awaits: none can start.
    while (this.gate) await this.gate;
    this.closed = true;
    try {
      if (!this.sql.readonly) this.sql.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.log.warn({ err }, 'checkpoint on close failed');
    }
    this.sql.close();
  }

  /** Waits while another chain's transaction is open; a query inside it goes straight on. */
  private async turn(): Promise<void> {
    if (this.txs.current()) return;
    while (this.gate) await this.gate;
  }

  private prepare(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.sql.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }
}

const bind = (params: SqlParams | undefined): unknown[] =>
  params === undefined ? [] : Array.isArray(params) ? [...params] : [params];
