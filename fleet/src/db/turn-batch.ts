// Look-ups (TurnBatch) and writes (TurnWrites) asked for in one turn of the
// event loop, done together. A node
// that takes thousands of boxes at once (another node died, the fleet
// restarted) asks the registry the same question for each box, and on
// PostgreSQL a round trip each filled the pool: 12,000 single-row queries in
// the 30 s after a node's death. A key asked for again while its answer is
// on the way shares it.
//
// Not for use inside a transaction: the query runs a turn later, outside it.

interface Waiter<V> {
  resolve(value: V | undefined): void;
  reject(err: unknown): void;
}

export class TurnBatch<K, V> {
  private waiting = new Map<K, Waiter<V>[]>();

  /**
   * @param lookUp answers up to `perQuery` keys in one query; a key missing from its map is answered undefined.
   */
  constructor(
    private readonly lookUp: (keys: K[]) => Promise<Map<K, V>>,
    private readonly perQuery: number,
  ) {}

  get(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiting = this.waiting.get(key);
      if (waiting) return void waiting.push({ resolve, reject });
      this.waiting.set(key, [{ resolve, reject }]);
      if (this.waiting.size === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = new Map();
    const keys = [...batch.keys()];
    for (let i = 0; i < keys.length; i += this.perQuery) {
      const chunk = keys.slice(i, i + this.perQuery);
      try {
        const found = await this.lookUp(chunk);
        for (const k of chunk) for (const w of batch.get(k)!) w.resolve(found.get(k));
      } catch (err) {
        for (const k of chunk) for (const w of batch.get(k)!) w.reject(err);
      }
    }
  }
}

/**
 * Writes of one turn, one call for all: a key written twice in the turn is
 * written once, its values combined (by default the latest wins); every
 * caller's promise settles with the write of its chunk. Not for use inside a
 * transaction either.
 */
export class TurnWrites<K, V> {
  private waiting = new Map<K, { value: V; waiters: Waiter<void>[] }>();

  constructor(
    private readonly writeMany: (entries: Array<[K, V]>) => Promise<void>,
    private readonly perWrite: number,
    private readonly combine: (earlier: V, later: V) => V = (_, later) => later,
  ) {}

  put(key: K, value: V): Promise<void> {
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
    for (let i = 0; i < batch.length; i += this.perWrite) {
      const chunk = batch.slice(i, i + this.perWrite);
      const settle = (how: (w: Waiter<void>) => void): void => chunk.forEach(([, e]) => e.waiters.forEach(how));
      try {
        await this.writeMany(chunk.map(([k, e]) => [k, e.value]));
        settle((w) => w.resolve(undefined));
      } catch (err) {
        settle((w) => w.reject(err));
      }
    }
  }
}
