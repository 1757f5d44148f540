import type Database from 'better-sqlite3';
import type { SelfTestResult } from '@diemcau/shared';
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

export interface SelfTestStore {
  /** False when the same result was stored already. */
  add(deviceId: string, result: SelfTestResult, receivedAt: string): boolean;
  list(deviceId: string, limit: number): StoredSelfTest[];
}

export function createSelfTestStore(db: Database.Database, keepPerDevice: number): SelfTestStore {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO self_tests (device_id, command_id, started_at, finished_at, ok, received_at, data)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const prune = db.prepare(
    `DELETE FROM self_tests WHERE device_id = ? AND id <= (SELECT id FROM self_tests WHERE device_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
  );
  const list = db.prepare<[string, number], { id: number; device_id: string; command_id: string | null; received_at: string; data: string }>(
    'SELECT id, device_id, command_id, received_at, data FROM self_tests WHERE device_id = ? ORDER BY finished_at DESC, id DESC LIMIT ?',
  );
  return {
    add(deviceId, r, receivedAt) {
      const res = insert.run(deviceId, r.commandId ?? null, r.startedAt, r.finishedAt, r.ok ? 1 : 0, receivedAt, JSON.stringify(r));
      if (res.changes === 0) return false;
      prune.run(deviceId, deviceId, keepPerDevice);
      return true;
    },
    list: (deviceId, limit) =>
      list.all(deviceId, limit).map((row) => ({
        id: row.id,
        deviceId: row.device_id,
        commandId: row.command_id,
        receivedAt: row.received_at,
        result: JSON.parse(row.data) as SelfTestResult,
      })),
  };
}
