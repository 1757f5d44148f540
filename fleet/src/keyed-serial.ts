/**
 * Runs async work one at a time per key, in the order it was asked for:
 * "open alert X" then "resolve alert X" must reach the registry in that
 * order even though each is several queries, while work on other keys goes
 * on in parallel. A failure is the caller's, and does not stop the queue.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const out = prev.then(fn, fn);
    const tail = out.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    // The map holds only keys with work in flight.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return out;
  }

  /** Resolves when everything asked so far has finished. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
