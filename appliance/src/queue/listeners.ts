/** A tiny listener set where a throwing listener cannot break the queue. */
export class Listeners {
  private readonly set = new Set<() => void>();

  add(fn: () => void): () => void {
    this.set.add(fn);
    return () => this.set.delete(fn);
  }

  emit(): void {
    for (const fn of this.set) {
      try {
        fn();
      } catch {
        // A listener's bug must not lose a record that is already stored.
      }
    }
  }

  clear(): void {
    this.set.clear();
  }
}
