import type { Logger } from 'pino';
import type { Telemetry } from '@diemcau/shared';
import type { PendingSample, TelemetryRepo } from '../db/telemetry-repo.js';
import type { FleetMetrics } from '../metrics.js';

/**
 * Collects telemetry and writes it in one transaction per flush interval (or
 * when the batch is full): 10,000 devices every few seconds is thousands of
 * rows a second, which SQLite takes easily in batches and badly one by one.
 */
export class TelemetryWriter {
  private batch: PendingSample[] = [];
  /** Called after the next flush: acknowledgements held until their samples are stored. */
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Batches being written; close() waits for them. */
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly repo: TelemetryRepo,
    private readonly metrics: FleetMetrics,
    private readonly log: Logger,
    private readonly flushMs: number,
    private readonly maxBatch = 2000,
  ) {}

  add(deviceId: string, sample: Telemetry, receivedAt: string): void {
    if (this.closed) return;
    this.batch.push({ deviceId, sample, receivedAt });
    if (this.batch.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /**
   * Calls `done` once what is added from now until the next flush is written
   * (or failed and logged). The broker holds a device's PUBACK on it in a
   * cluster, so a node killed between receiving a sample and writing it has
   * not acknowledged it, and the box sends it again to another node.
   */
  afterNextFlush(done: () => void): void {
    if (this.closed) return done();
    this.waiters.push(done);
    this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /** Writes what is buffered now; resolves when it is stored (or its failure logged). Never rejects. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    if (this.batch.length === 0) {
      for (const w of waiters) w();
      return Promise.resolve();
    }
    const batch = this.batch;
    this.batch = [];
    const done = this.write(batch).finally(() => {
      for (const w of waiters) w();
    });
    this.writing.add(done);
    void done.then(() => this.writing.delete(done));
    return done;
  }

  private async write(batch: PendingSample[]): Promise<void> {
    try {
      const inserted = await this.repo.insertBatch(batch);
      this.metrics.telemetryStored.inc(inserted);
      if (inserted < batch.length) this.metrics.telemetryDuplicates.inc(batch.length - inserted);
    } catch (err) {
      this.log.error({ err, samples: batch.length }, 'telemetry batch write failed');
    }
  }

  /** Writes what is buffered and waits for every batch in flight. */
  async close(): Promise<void> {
    if (this.closed) return;
    void this.flush();
    this.closed = true;
    await Promise.all([...this.writing]);
  }
}
