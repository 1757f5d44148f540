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
 */
export class TelemetryRepo {
  private readonly stmts;
  /** Inserts per device since its last prune; pruning every insert would double the writes. */
  private readonly sincePrune = new Map<string, number>();

  constructor(private readonly db: FleetDb, private readonly keep: number) {
    const s = db.sql;
    this.stmts = {
      insert: s.prepare('INSERT OR IGNORE INTO telemetry (device_id, seq, at, received_at, data) VALUES (?, ?, ?, ?, ?)'),
      touch: s.prepare('UPDATE devices SET last_seen_at = ? WHERE id = ?'),
      // Only a newer sample replaces the latest: the queue replayed after a reconnect delivers old ones last.
      latestOnDevice: s.prepare(`UPDATE devices SET latest_seq = @seq, latest_telemetry = @data, latest_received_at = @receivedAt
        WHERE id = @id AND (latest_seq IS NULL OR latest_seq < @seq)`),
      prune: s.prepare(`DELETE FROM telemetry WHERE device_id = @id AND seq <= (
        SELECT seq FROM telemetry WHERE device_id = @id ORDER BY seq DESC LIMIT 1 OFFSET @keep)`),
      latest: s.prepare('SELECT device_id, seq, at, received_at, data FROM telemetry WHERE device_id = ? ORDER BY seq DESC LIMIT ?'),
    };
  }

  /** Writes a batch in one transaction; returns how many were new. */
  insertBatch(batch: readonly PendingSample[]): number {
    return this.db.tx(() => {
      let inserted = 0;
      const touched = new Map<string, string>();
      const newest = new Map<string, { seq: number; data: string; receivedAt: string }>();
      for (const p of batch) {
        const data = JSON.stringify(p.sample);
        const r = this.stmts.insert.run(p.deviceId, p.sample.seq, p.sample.at, p.receivedAt, data);
        if (r.changes === 0) continue;
        inserted += 1;
        touched.set(p.deviceId, p.receivedAt);
        const cur = newest.get(p.deviceId);
        if (!cur || cur.seq < p.sample.seq) newest.set(p.deviceId, { seq: p.sample.seq, data, receivedAt: p.receivedAt });
        const n = (this.sincePrune.get(p.deviceId) ?? 0) + 1;
        this.sincePrune.set(p.deviceId, n);
      }
      for (const [id, n] of newest) this.stmts.latestOnDevice.run({ id, seq: n.seq, data: n.data, receivedAt: n.receivedAt });
      for (const [id, at] of touched) {
        this.stmts.touch.run(at, id);
        const n = this.sincePrune.get(id) ?? 0;
        if (n >= Math.max(1, Math.ceil(this.keep / 10))) {
          this.stmts.prune.run({ id, keep: this.keep });
          this.sincePrune.set(id, 0);
        }
      }
      return inserted;
    });
  }

  /** Newest first. */
  latest(deviceId: string, limit: number): TelemetrySample[] {
    const rows = this.stmts.latest.all(deviceId, limit) as { device_id: string; seq: number; at: string; received_at: string; data: string }[];
    return rows.map((r) => ({ deviceId: r.device_id, seq: r.seq, at: r.at, receivedAt: r.received_at, data: JSON.parse(r.data) as Telemetry }));
  }
}
