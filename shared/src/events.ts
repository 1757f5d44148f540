// The one typed event emitter of both programs (the fleet's bus, the media
// edge's handles, the agent's queues). Listeners run synchronously; one that
// throws is reported to `onListenerError` and never breaks the emitter, the
// others still run, and the emitting code goes on.
export type EventMap = Record<string, unknown[]>;
type Listener<A extends unknown[]> = (...args: A) => void;
// Stored type-erased; on()/emit() keep the types at the edges.
type AnyListener = (...args: unknown[]) => void;

export class Events<M extends EventMap> {
  private readonly listeners = new Map<keyof M, Set<AnyListener>>();

  constructor(private readonly onListenerError: (err: unknown, event: string) => void = () => {}) {}

  on<K extends keyof M>(event: K, fn: Listener<M[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as unknown as AnyListener);
    return () => this.off(event, fn);
  }

  once<K extends keyof M>(event: K, fn: Listener<M[K]>): () => void {
    const off = this.on(event, ((...args: M[K]) => {
      off();
      fn(...args);
    }) as Listener<M[K]>);
    return off;
  }

  off<K extends keyof M>(event: K, fn: Listener<M[K]>): void {
    this.listeners.get(event)?.delete(fn as unknown as AnyListener);
  }

  emit<K extends keyof M>(event: K, ...args: M[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        this.onListenerError(err, String(event));
      }
    }
  }

  listenerCount(event: keyof M): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  removeAll(): void {
    this.listeners.clear();
  }
}
