import type { KeyedSerial } from '../keyed-serial.js';

/**
 * A write that keeps each of its devices' order of writes (the serial, keyed
 * by device): it starts once every device in it has finished its earlier
 * writes, and their later writes wait for it.
 */
class Barrier {
  private waiting = 0;
  private closed = false;
  private start!: () => void;
  /** Rejects with what the write threw. */
  readonly written: Promise<void>;

  constructor(write: () => Promise<void>) {
    this.written = new Promise<void>((resolve) => (this.start = resolve)).then(write);
  }

  join(serial: KeyedSerial, deviceId: string): void {
    this.waiting++;
    void serial.run(deviceId, () => {
      this.waiting--;
      this.startIfReady();
      // The device's next write waits for this one, whatever its outcome.
      return this.written.catch(() => undefined);
    });
  }

  /** No device joins any more: the write starts as soon as the devices in it are ready. */
  close(): void {
    this.closed = true;
    this.startIfReady();
  }

  private startIfReady(): void {
    if (this.closed && this.waiting === 0) this.start();
  }
}

interface OpenBatch<V> {
  rows: Map<string, V>;
  barrier: Barrier;
  timer: NodeJS.Timeout;
}

/**
 * Writes asked for within `windowMs` of each other, one value per device,
 * stored together by one call, in each device's order of writes. In a
 * reconnect storm thousands of devices change in a few seconds, and one
 * commit each was most of the registry's work.
 */
export class WriteBatcher<V> {
  private open: OpenBatch<V> | undefined;

  /**
   * `write` stores a whole batch; it handles its own failures (what it throws
   * is lost). A batch takes what comes within `windowMs` of its first write.
   */
  constructor(
    private readonly serial: KeyedSerial,
    private readonly windowMs: number,
    private readonly write: (rows: Map<string, V>) => Promise<void>,
  ) {}

  /** The device's value in the open batch (a later one in the same batch replaces it). */
  add(deviceId: string, value: V): void {
    const batch = this.open ?? this.openBatch();
    if (!batch.rows.has(deviceId)) batch.barrier.join(this.serial, deviceId);
    batch.rows.set(deviceId, value);
  }

  /**
   * One write for many devices at once (a takeover's corrections), in each
   * device's order as a batch is. The batch still gathering is closed first:
   * a device joining it behind this write would have the batch wait for this
   * write, and this write for the batch.
   */
  writeAll(deviceIds: Iterable<string>, write: () => Promise<void>): Promise<void> {
    this.closeOpen();
    const barrier = new Barrier(write);
    for (const id of new Set(deviceIds)) barrier.join(this.serial, id);
    barrier.close();
    return barrier.written;
  }

  private openBatch(): OpenBatch<V> {
    const rows = new Map<string, V>();
    const barrier = new Barrier(() => this.write(rows));
    // Its first device's join handles a failure; `write` has logged it.
    this.open = { rows, barrier, timer: setTimeout(() => this.closeOpen(), this.windowMs) };
    return this.open;
  }

  private closeOpen(): void {
    const batch = this.open;
    if (!batch) return;
    clearTimeout(batch.timer);
    this.open = undefined;
    batch.barrier.close();
  }
}
