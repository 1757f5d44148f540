// Look-ups (TurnBatch) and writes (TurnWrites) asked for in one turn of the
// event loop, done together. A node that takes thousands of boxes at once
// (another node died, the fleet restarted) asks the registry the same
// question for each box, and on PostgreSQL a round trip each filled the pool:
// 12,000 single-row queries in the 30 s after a node's death. A key asked for
// twice in one turn is looked up (or written) once; a key asked for again
// after its turn has gone out waits for the next turn's query.
//
// Inside a transaction (`inTx()` true) each call goes out alone and at once,
// on the transaction's connection: a query gathered for a later turn would run
// outside it, on another connection that cannot see its uncommitted rows, and
// transactions each waiting for a pooled connection could exhaust the pool.

/** Keys per query: 500 parameters, inside both engines' limits. */
export const KEYS_PER_QUERY = 500;

interface Waiter<R> {
  resolve(value: R): void;
  reject(err: unknown): void;
}

/**
 * What both share: the keys of one turn gathered (a key's values combined),
 * handed to `run` a turn later in chunks of `perRun`, and every caller's
 * promise settled with its chunk's answer for its key.
 */
class Turn<K, V, R> {
  private waiting = new Map<K, { value: V; waiters: Waiter<R>[] }>();

  constructor(
    private readonly run: (chunk: Array<[K, V]>) => Promise<(key: K) => R>,
    private readonly perRun: number,
    private readonly combine: (earlier: V, later: V) => V,
    private readonly inTx: () => boolean,
  ) {}

  add(key: K, value: V): Promise<R> {
    if (this.inTx()) return this.run([[key, value]]).then((answer) => answer(key));
    return new Promise((resolve, reject) => {
      const waiting = this.waiting.get(key);
      if (waiting) {
        waiting.value = this.combine(waiting.value, value);
        return void waiting.waiters.push({ resolve, reject });
      }
      this.waiting.set(key, { value, waiters: [{ resolve, reject }] });
      if (this.waiting.size === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = [...this.waiting];
    this.waiting = new Map();
    for (let i = 0; i < batch.length; i += this.perRun) {
      const chunk = batch.slice(i, i + this.perRun);
      try {
        const answer = await this.run(chunk.map(([k, e]) => [k, e.value]));
        for (const [k, e] of chunk) for (const w of e.waiters) w.resolve(answer(k));
      } catch (err) {
        for (const [, e] of chunk) for (const w of e.waiters) w.reject(err);
      }
    }
  }
}

/** Look-ups of one turn, one query per chunk of keys. */
export class TurnBatch<K, V> {
  private readonly turn: Turn<K, null, V | undefined>;

  /**
   * @param lookUp answers up to `perQuery` keys in one query; a key missing from its map is answered undefined.
   * @param inTx whether the caller is inside a transaction (FleetDb.inTransaction): then its key goes alone, at once.
   */
  constructor(lookUp: (keys: K[]) => Promise<Map<K, V>>, inTx: () => boolean, perQuery = KEYS_PER_QUERY) {
    this.turn = new Turn(
      async (chunk) => {
        const found = await lookUp(chunk.map(([k]) => k));
        return (k) => found.get(k);
      },
      perQuery,
      () => null,
      inTx,
    );
  }

  get(key: K): Promise<V | undefined> {
    return this.turn.add(key, null);
  }
}

/**
 * Writes of one turn, one call for all: a key written twice in the turn is
 * written once, its values combined (by default the latest wins); every
 * caller's promise settles with the write of its chunk.
 */
export class TurnWrites<K, V> {
  private readonly turn: Turn<K, V, void>;

  constructor(
    writeMany: (entries: Array<[K, V]>) => Promise<void>,
    inTx: () => boolean,
    perWrite: number,
    combine: (earlier: V, later: V) => V = (_, later) => later,
  ) {
    this.turn = new Turn(
      async (chunk) => {
        await writeMany(chunk);
        return () => undefined;
      },
      perWrite,
      combine,
      inTx,
    );
  }

  put(key: K, value: V): Promise<void> {
    return this.turn.add(key, value);
  }
}
