import type { Telemetry } from '@diemcau/shared';
import type { FleetDb } from './database.js';

export interface TelemetrySample {
  deviceId: string;
  seq: number;
  at: string;
  receivedAt: string;
  data: Telemetry;
}

export interface PendingSample {
  deviceId: string;
  sample: Telemetry;
  receivedAt: string;
}

/**
 * Telemetry samples, keyed by (device, seq): a sample delivered twice (QoS 1
 * redelivery, the agent's queue replayed after a reconnect) is stored once.
 * Retention is bounded: each device keeps its newest `keep` samples, pruned
 * every keep/10 inserts (pruning every insert would double the writes).
 */
export class TelemetryRepo {
  /** Inserts per device since its last prune. */
  private readonly sincePrune = new Map<string, number>();

  constructor(
    private readonly db: FleetDb,
    private readonly keep: number,
  ) {}

  /** Writes a batch in one transaction; returns how many were new. */
  insertBatch(batch: readonly PendingSample[]): Promise<number> {
    return this.db.tx(async () => {
      let inserted = 0;
      const touched = new Map<string, string>();
      const newest = new Map<string, { seq: number; data: string; receivedAt: string }>();
      const counted = new Map<string, number>();
      for (const p of batch) {
        const data = JSON.stringify(p.sample);
        const r = await this.db.run(
          'INSERT INTO telemetry (device_id, seq, at, received_at, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
          [p.deviceId, p.sample.seq, p.sample.at, p.receivedAt, data],
        );
        if (r.changes === 0) continue;
        inserted += 1;
        touched.set(p.deviceId, p.receivedAt);
        const cur = newest.get(p.deviceId);
        if (!cur || cur.seq < p.sample.seq)
          newest.set(p.deviceId, { seq: p.sample.seq, data, receivedAt: p.receivedAt });
        counted.set(p.deviceId, (counted.get(p.deviceId) ?? 0) + 1);
      }
      // Only a newer sample replaces the latest: the queue replayed after a reconnect delivers old ones last.
      for (const [id, n] of newest) {
        await this.db.run(
          `UPDATE devices SET latest_seq = @seq, latest_telemetry = @data, latest_received_at = @receivedAt
           WHERE id = @id AND (latest_seq IS NULL OR latest_seq < @seq)`,
          { id, seq: n.seq, data: n.data, receivedAt: n.receivedAt },
        );
      }
      const due: string[] = [];
      for (const [id, at] of touched) {
        await this.db.run('UPDATE devices SET last_seen_at = ? WHERE id = ?', [at, id]);
        const n = (this.sincePrune.get(id) ?? 0) + (counted.get(id) ?? 0);
        if (n >= Math.max(1, Math.ceil(this.keep / 10))) due.push(id);
        else this.sincePrune.set(id, n);
      }
      for (const id of due) {
        await this.db.run(
          `DELETE FROM telemetry WHERE device_id = @id AND seq <= (
             SELECT seq FROM telemetry WHERE device_id = @id ORDER BY seq DESC LIMIT 1 OFFSET @keep)`,
          { id, keep: this.keep },
        );
        this.sincePrune.set(id, 0);
      }
      return inserted;
    });
  }

  /** Newest first. */
  async latest(deviceId: string, limit: number): Promise<TelemetrySample[]> {
    const rows = await this.db.all<{ device_id: string; seq: number; at: string; received_at: string; data: string }>(
      'SELECT device_id, seq, at, received_at, data FROM telemetry WHERE device_id = ? ORDER BY seq DESC LIMIT ?',
      [deviceId, limit],
    );
    return rows.map((r) => ({
      deviceId: r.device_id,
      seq: r.seq,
      at: r.at,
      receivedAt: r.received_at,
      data: JSON.parse(r.data) as Telemetry,
    }));
  }
}
