import type { KeyedSerial } from '../keyed-serial.js';

interface Batch<V> {
  rows: Map<string, V>;
  /** Devices whose earlier writes are still running. */
  waiting: number;
  closed: boolean;
  start: () => void;
  cancelTimer: () => void;
  done: Promise<void>;
}

/**
 * Writes asked for within `windowMs` of each other, one value per device,
 * stored together by one call. Each device's place in its own order of
 * writes (the serial, keyed by device) is kept: the batch is written once
 * every device in it has finished its earlier writes, and its later writes
 * wait for the batch. In a reconnect storm thousands of devices change in a
 * few seconds, and one commit each was most of the registry's work.
 */
export class WriteBatcher<V> {
  private open: Batch<V> | undefined;

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
    if (!batch.rows.has(deviceId)) {
      batch.waiting++;
      void this.serial.run(deviceId, () => {
        batch.waiting--;
        this.startIfReady(batch);
        return batch.done;
      });
    }
    batch.rows.set(deviceId, value);
  }

  /**
   * One write for many devices at once (a takeover's corrections), in each
   * device's order as a batch is: it starts once every device's earlier
   * writes are done, and their later writes wait for it. The batch still
   * gathering is closed first: a device joining it behind this write would
   * have the batch wait for this write, and this write for the batch.
   */
  writeAll(deviceIds: Iterable<string>, write: () => Promise<void>): Promise<void> {
    if (this.open) this.close(this.open);
    const ids = [...new Set(deviceIds)];
    let waiting = ids.length;
    let start!: () => void;
    const done = new Promise<void>((resolve) => (start = resolve)).then(write);
    if (waiting === 0) start();
    for (const id of ids)
      this.serial
        .run(id, () => {
          if (--waiting === 0) start();
          return done;
        })
        .catch(() => undefined);
    return done;
  }

  private openBatch(): Batch<V> {
    let start!: () => void;
    const started = new Promise<void>((resolve) => (start = resolve));
    const batch: Batch<V> = {
      rows: new Map(),
      waiting: 0,
      closed: false,
      start,
      cancelTimer: () => undefined,
      done: started.then(() => this.write(batch.rows)).catch(() => undefined),
    };
    this.open = batch;
    const timer = setTimeout(() => this.close(batch), this.windowMs);
    batch.cancelTimer = () => clearTimeout(timer);
    return batch;
  }

  /** No device joins the batch any more; it is written once its devices' earlier writes are done. */
  private close(batch: Batch<V>): void {
    if (batch.closed) return;
    batch.cancelTimer();
    if (this.open === batch) this.open = undefined;
    batch.closed = true;
    this.startIfReady(batch);
  }

  private startIfReady(batch: Batch<V>): void {
    if (batch.closed && batch.waiting === 0) batch.start();
  }
}
