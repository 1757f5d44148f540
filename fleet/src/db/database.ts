import { AsyncLocalStorage } from 'node:async_hooks';
import type { Migration } from './migrations.js';

/**
 * The registry's engine, as every repository sees it: SQLite embedded in the
 * process (sqlite.ts, the default) or PostgreSQL for a cluster (postgres.ts).
 * Repositories write their SQL once; where the two dialects differ they ask
 * `dialect`. Parameters are positional (`?` with an array) or named (`@name`
 * with an object); the PostgreSQL engine rewrites both to `$n`.
 *
 * Inside `tx(fn)` every query made by fn's async chain, through any
 * repository, joins the transaction (AsyncLocalStorage carries it), so the
 * rules above the repositories compose their calls into one atomic change
 * without passing a handle around.
 */
export type Dialect = 'sqlite' | 'postgres';
export type SqlParams = readonly unknown[] | Readonly<Record<string, unknown>>;

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

export interface TxOptions {
  /**
   * Serialises transactions that take the same lock name, also across fleet
   * nodes (a PostgreSQL advisory lock for the transaction's length). SQLite
   * runs one transaction at a time anyway.
   */
  lock?: string;
}

export interface FleetDb {
  readonly dialect: Dialect;
  readonly isOpen: boolean;
  all<T>(sql: string, params?: SqlParams): Promise<T[]>;
  get<T>(sql: string, params?: SqlParams): Promise<T | undefined>;
  run(sql: string, params?: SqlParams): Promise<RunResult>;
  /** Several statements, no parameters (migrations, tests' fixtures). */
  exec(sql: string): Promise<void>;
  /** Runs fn in one transaction: committed when it resolves, rolled back when it throws. Nested calls join the outer one. */
  tx<T>(fn: () => Promise<T>, opts?: TxOptions): Promise<T>;
  /** Whether the calling async chain is inside a transaction: its queries go to the transaction's connection. */
  inTransaction(): boolean;
  /**
   * Applies the migrations not yet recorded, each in its own transaction.
   * Feature modules call this with their own list when they register.
   */
  migrate(migrations: readonly Migration[]): Promise<void>;
  /** Throws unless the engine answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The transaction an async chain is inside, if any. `done` turns true at
 * commit or rollback: a timer started inside a transaction outlives it, and
 * its later queries then run outside, on their own. Work started inside the
 * transaction by a side chain (a broker callback that stores an
 * acknowledgement) is tracked and finished before the commit, so nothing
 * ever runs on a connection that has gone back to the pool.
 *
 * A nested transaction is a savepoint, and savepoints on one connection must
 * nest properly: two side chains opening one each at the same level take
 * turns (`tail`), while one opened inside another's body goes straight on
 * (its body runs in a frame of its own).
 */
export interface TxFrame<C> {
  conn: C;
  readonly root: TxRoot;
  /** The savepoint opened last at this level; the next waits for it. */
  tail: Promise<unknown>;
}

interface TxRoot {
  done: boolean;
  savepoints: number;
  pending: Set<Promise<unknown>>;
}

export class TxContext<C> {
  private readonly als = new AsyncLocalStorage<TxFrame<C>>();

  current(): TxFrame<C> | undefined {
    const f = this.als.getStore();
    return f && !f.root.done ? f : undefined;
  }

  /** Runs fn as the body of a new transaction on conn; resolves once fn and everything it started inside are done. */
  async run<T>(conn: C, fn: () => Promise<T>): Promise<{ out: T }> {
    const root: TxRoot = { done: false, savepoints: 0, pending: new Set() };
    const frame: TxFrame<C> = { conn, root, tail: Promise.resolve() };
    try {
      const out = await this.als.run(frame, fn);
      await this.drain(root);
      return { out };
    } catch (err) {
      await this.drain(root);
      throw err;
    } finally {
      root.done = true;
    }
  }

  track<T>(frame: TxFrame<C>, p: Promise<T>): Promise<T> {
    const { pending } = frame.root;
    pending.add(p);
    const forget = (): void => void pending.delete(p);
    p.then(forget, forget);
    return p;
  }

  /** Runs fn nested in the current transaction under a savepoint, so a caught failure undoes only its own writes. */
  nested<T>(frame: TxFrame<C>, exec: (sql: string) => Promise<void>, fn: () => Promise<T>): Promise<T> {
    const body = async (): Promise<T> => {
      const name = `sp_${++frame.root.savepoints}`;
      await exec(`SAVEPOINT ${name}`);
      try {
        const inner: TxFrame<C> = { conn: frame.conn, root: frame.root, tail: Promise.resolve() };
        const out = await this.als.run(inner, fn);
        await exec(`RELEASE SAVEPOINT ${name}`);
        return out;
      } catch (err) {
        await exec(`ROLLBACK TO SAVEPOINT ${name}`);
        await exec(`RELEASE SAVEPOINT ${name}`);
        throw err;
      }
    };
    const out = frame.tail.then(body, body);
    frame.tail = out.catch(() => undefined);
    return this.track(frame, out);
  }

  private async drain(root: TxRoot): Promise<void> {
    while (root.pending.size > 0) await Promise.allSettled([...root.pending]);
  }
}
