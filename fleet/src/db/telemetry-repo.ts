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

/** Rows per multi-row statement (the samples' INSERT, the devices' UPDATE): 5 parameters each, well inside both engines' limits; at most this many statement shapes. */
const ROWS_PER_INSERT = 100;

/** What a batch writes to one device's row. */
interface DeviceTouch {
  seq: number;
  data: string;
  receivedAt: string;
  seenAt: string;
}

/** `(?, ?, ?, ?, ?), (?, ?, ?, ?, ?), …` for n rows. */
const valuesList = (n: number): string => Array.from({ length: n }, () => '(?, ?, ?, ?, ?)').join(', ');

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

  /**
   * Writes a batch in one transaction; returns how many were new. Samples go
   * in as multi-row INSERTs (ROWS_PER_INSERT a statement) that return what
   * was new, and each device's row is touched once per batch: a statement per
   * sample cost the embedded fleet a sixth of its CPU at 10,000 boxes, and a
   * round trip per sample is worse against PostgreSQL.
   */
  insertBatch(batch: readonly PendingSample[]): Promise<number> {
    return this.db.tx(async () => {
      const rows = batch.map((p) => ({ p, data: JSON.stringify(p.sample) }));
      const fresh = new Set<string>();
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const chunk = rows.slice(i, i + ROWS_PER_INSERT);
        const params: Array<string | number> = [];
        for (const { p, data } of chunk) params.push(p.deviceId, p.sample.seq, p.sample.at, p.receivedAt, data);
        const inserted = await this.db.all<{ device_id: string; seq: number | string }>(
          `INSERT INTO telemetry (device_id, seq, at, received_at, data) VALUES ${valuesList(chunk.length)}
           ON CONFLICT DO NOTHING RETURNING device_id, seq`,
          params,
        );
        for (const r of inserted) fresh.add(`${r.device_id}\n${Number(r.seq)}`);
      }
      // Per device: when it was last heard from, and its newest sample. Only
      // a newer sample replaces the latest: the queue replayed after a
      // reconnect delivers old ones last.
      const perDevice = new Map<string, DeviceTouch & { n: number }>();
      for (const { p, data } of rows) {
        if (!fresh.delete(`${p.deviceId}\n${p.sample.seq}`)) continue; // a duplicate, in the store or in this batch
        const cur = perDevice.get(p.deviceId);
        if (!cur) {
          perDevice.set(p.deviceId, { seq: p.sample.seq, data, receivedAt: p.receivedAt, seenAt: p.receivedAt, n: 1 });
          continue;
        }
        cur.n += 1;
        cur.seenAt = p.receivedAt;
        if (cur.seq < p.sample.seq) Object.assign(cur, { seq: p.sample.seq, data, receivedAt: p.receivedAt });
      }
      let inserted = 0;
      const due: string[] = [];
      // Device rows in id order (byte order, as PostgreSQL's COLLATE "C"): two writers that lock
      // the same rows in different orders deadlock (devices-repo.ts setPresenceMany takes this order too).
      const ordered = [...perDevice].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (let i = 0; i < ordered.length; i += ROWS_PER_INSERT)
        await this.touchDevices(ordered.slice(i, i + ROWS_PER_INSERT));
      for (const [id, d] of ordered) {
        inserted += d.n;
        const n = (this.sincePrune.get(id) ?? 0) + d.n;
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

  /**
   * Each device's last-seen time and newest sample, for up to ROWS_PER_INSERT
   * devices in one UPDATE: a statement per device held a PostgreSQL
   * transaction (and a pooled connection) open for seconds at 10,000 boxes on
   * a busy machine, and enrolments then waited for a connection. In
   * PostgreSQL the rows are locked first, in id order (the UPDATE's join
   * locks in whatever order its plan reads them). Only a newer sample
   * replaces the latest.
   */
  private async touchDevices(devices: ReadonlyArray<[string, DeviceTouch]>): Promise<void> {
    const params: Array<string | number> = [];
    for (const [id, d] of devices) params.push(id, d.seq, d.data, d.receivedAt, d.seenAt);
    if (this.db.dialect === 'postgres') {
      await this.db.all(
        `SELECT id FROM devices WHERE id IN (${devices.map(() => '?').join(', ')}) ORDER BY id COLLATE "C" FOR UPDATE`,
        devices.map(([id]) => id),
      );
    }
    const row = '(CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT))';
    // VALUES names its columns column1…column5 in both engines: id, seq, data, received_at, seen_at.
    await this.db.run(
      `UPDATE devices SET last_seen_at = v.column5,
         latest_telemetry = CASE WHEN latest_seq IS NULL OR latest_seq < v.column2 THEN v.column3 ELSE latest_telemetry END,
         latest_received_at = CASE WHEN latest_seq IS NULL OR latest_seq < v.column2 THEN v.column4 ELSE latest_received_at END,
         latest_seq = CASE WHEN latest_seq IS NULL OR latest_seq < v.column2 THEN v.column2 ELSE latest_seq END
       FROM (VALUES ${devices.map(() => row).join(', ')}) AS v
       WHERE devices.id = v.column1`,
      params,
    );
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
