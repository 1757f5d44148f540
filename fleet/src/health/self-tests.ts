import type { SelfTestResult } from '@diemcau/shared';
import type { FleetDb } from '../db/database.js';
import type { Migration } from '../db/migrations.js';

// Self-test history per device: every result a device publishes on 'health',
// whether an operator asked for it or the agent ran it on its own.

export const HEALTH_MIGRATIONS: Migration[] = [
  {
    name: 'health-001-self-tests',
    sql: `
      CREATE TABLE self_tests (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        command_id TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        ok INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX self_tests_device ON self_tests (device_id, id);
      -- A redelivered result (same device, same finish time) is stored once.
      CREATE UNIQUE INDEX self_tests_unique ON self_tests (device_id, finished_at);
    `,
  },
];

export interface StoredSelfTest {
  id: number;
  deviceId: string;
  commandId: string | null;
  receivedAt: string;
  result: SelfTestResult;
}

/** Each device keeps its newest `keepPerDevice` results. */
export class SelfTestsRepo {
  constructor(
    private readonly db: FleetDb,
    private readonly keepPerDevice: number,
  ) {}

  /** False when the same result was stored already. */
  add(deviceId: string, r: SelfTestResult, receivedAt: string): Promise<boolean> {
    return this.db.tx(async () => {
      const res = await this.db.run(
        `INSERT INTO self_tests (device_id, command_id, started_at, finished_at, ok, received_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
        [deviceId, r.commandId ?? null, r.startedAt, r.finishedAt, r.ok ? 1 : 0, receivedAt, JSON.stringify(r)],
      );
      if (res.changes === 0) return false;
      await this.db.run(
        `DELETE FROM self_tests WHERE device_id = ? AND id <= (SELECT id FROM self_tests WHERE device_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
        [deviceId, deviceId, this.keepPerDevice],
      );
      return true;
    });
  }

  async list(deviceId: string, limit: number): Promise<StoredSelfTest[]> {
    const rows = await this.db.all<{
      id: number;
      device_id: string;
      command_id: string | null;
      received_at: string;
      data: string;
    }>(
      'SELECT id, device_id, command_id, received_at, data FROM self_tests WHERE device_id = ? ORDER BY finished_at DESC, id DESC LIMIT ?',
      [deviceId, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      deviceId: row.device_id,
      commandId: row.command_id,
      receivedAt: row.received_at,
      result: JSON.parse(row.data) as SelfTestResult,
    }));
  }
}
