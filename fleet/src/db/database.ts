import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { CORE_MIGRATIONS, type Migration } from './migrations.js';

export type SqliteDb = Database.Database;

/**
 * The registry's SQLite file. WAL with synchronous=NORMAL: a commit is not
 * fsynced (the WAL is at checkpoints), so 10,000 devices' telemetry does not
 * turn into an fsync storm; a power cut can lose the last commits but never
 * corrupts the file. Writers batch into transactions on top of that.
 */
export class FleetDb {
  readonly sql: SqliteDb;
  private closed = false;

  constructor(file: string, private readonly log: Logger) {
    this.sql = new Database(file);
    this.sql.pragma('journal_mode = WAL');
    this.sql.pragma('synchronous = NORMAL');
    this.sql.pragma('foreign_keys = ON');
    this.sql.pragma('busy_timeout = 5000');
    this.sql.exec(`CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`);
    this.migrate(CORE_MIGRATIONS);
  }

  /**
   * Applies the migrations not yet recorded, each in its own transaction.
   * Feature modules call this with their own list when they register.
   */
  migrate(migrations: readonly Migration[]): void {
    const applied = new Set(
      (this.sql.prepare('SELECT name FROM migrations').all() as { name: string }[]).map((r) => r.name),
    );
    const record = this.sql.prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)');
    for (const m of migrations) {
      if (applied.has(m.name)) continue;
      this.sql.transaction(() => {
        this.sql.exec(m.sql);
        record.run(m.name, new Date().toISOString());
      })();
      this.log.info({ migration: m.name }, 'migration applied');
    }
  }

  /** Runs fn in one transaction (rolled back if it throws). */
  tx<T>(fn: () => T): T {
    return this.sql.transaction(fn)();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.sql.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.log.warn({ err }, 'checkpoint on close failed');
    }
    this.sql.close();
  }
}
