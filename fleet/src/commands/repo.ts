import type { CommandResult, CommandType } from '@diemcau/shared';
import type { FleetDb } from '../db/database.js';
import type { Migration } from '../db/migrations.js';
import { TurnBatch } from '../db/turn-batch.js';
import type { CommandRecord, CommandState } from './lifecycle.js';

// The commands table is the queue: a command stays 'queued'/'delivered' in it
// until the device answers or it expires, across fleet restarts.

export const COMMAND_MIGRATIONS: Migration[] = [
  {
    name: 'commands-001-commands',
    sql: `
CREATE TABLE commands (
  id TEXT PRIMARY KEY,
  batch_id TEXT,
  device_id TEXT NOT NULL,
  site_id TEXT NOT NULL,
  type TEXT NOT NULL,
  params TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  issued_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  force_reason TEXT,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_sent_at TEXT,
  delivered_at TEXT,
  completed_at TEXT,
  result TEXT
);
CREATE INDEX commands_device ON commands (device_id, issued_at);
CREATE INDEX commands_open ON commands (status, expires_at);
CREATE INDEX commands_batch ON commands (batch_id);
`,
  },
];

interface Row {
  id: string;
  batch_id: string | null;
  device_id: string;
  site_id: string;
  type: string;
  params: string;
  issued_by: string;
  issued_at: string;
  expires_at: string;
  force_reason: string | null;
  status: string;
  attempts: number;
  last_sent_at: string | null;
  delivered_at: string | null;
  completed_at: string | null;
  result: string | null;
}

const toRecord = (r: Row): CommandRecord => ({
  id: r.id,
  batchId: r.batch_id,
  deviceId: r.device_id,
  siteId: r.site_id,
  type: r.type as CommandType,
  params: JSON.parse(r.params) as Record<string, unknown>,
  issuedBy: r.issued_by,
  issuedAt: r.issued_at,
  expiresAt: r.expires_at,
  force: r.force_reason === null ? null : { reason: r.force_reason },
  status: r.status as CommandState,
  attempts: r.attempts,
  lastSentAt: r.last_sent_at,
  deliveredAt: r.delivered_at,
  completedAt: r.completed_at,
  result: r.result === null ? null : (JSON.parse(r.result) as CommandResult),
});

const toRow = (c: CommandRecord): Row => ({
  id: c.id,
  batch_id: c.batchId,
  device_id: c.deviceId,
  site_id: c.siteId,
  type: c.type,
  params: JSON.stringify(c.params),
  issued_by: c.issuedBy,
  issued_at: c.issuedAt,
  expires_at: c.expiresAt,
  force_reason: c.force?.reason ?? null,
  status: c.status,
  attempts: c.attempts,
  last_sent_at: c.lastSentAt,
  delivered_at: c.deliveredAt,
  completed_at: c.completedAt,
  result: c.result === null ? null : JSON.stringify(c.result),
});

const COLS =
  'id, batch_id, device_id, site_id, type, params, issued_by, issued_at, expires_at, force_reason, status, attempts, last_sent_at, delivered_at, completed_at, result';

/** The commands table; needs COMMAND_MIGRATIONS applied (FleetDb.migrate). */
export class CommandsRepo {
  constructor(private readonly db: FleetDb) {}

  private readonly openBatch = new TurnBatch<string, CommandRecord[]>(
    async (ids) => {
      const rows = await this.db.all<Row>(
        `SELECT ${COLS} FROM commands WHERE device_id IN (${ids.map(() => '?').join(', ')})
         AND status IN ('queued','delivered') ORDER BY issued_at, id`,
        ids,
      );
      const open = new Map<string, CommandRecord[]>();
      for (const rec of rows.map(toRecord)) {
        const mine = open.get(rec.deviceId);
        if (mine) mine.push(rec);
        else open.set(rec.deviceId, [rec]);
      }
      return open;
    },
    () => this.db.inTransaction(),
  );

  /**
   * Runs fn in one transaction (a fan-out to a district is one commit, not
   * hundreds); with a lock name, one such transaction at a time (fleet-wide).
   */
  transaction<T>(fn: () => Promise<T>, lock?: string): Promise<T> {
    return this.db.tx(fn, lock === undefined ? {} : { lock });
  }

  insertMany(records: readonly CommandRecord[]): Promise<void> {
    return this.db.tx(async () => {
      for (const r of records)
        await this.db.run(
          `INSERT INTO commands (${COLS}) VALUES (${COLS.split(', ')
            .map((c) => '@' + c)
            .join(', ')})`,
          { ...toRow(r) },
        );
    });
  }

  async update(record: CommandRecord): Promise<void> {
    const { id, status, attempts, last_sent_at, delivered_at, completed_at, result } = toRow(record);
    await this.db.run(
      `UPDATE commands SET status=@status, attempts=@attempts, last_sent_at=@last_sent_at, delivered_at=@delivered_at,
         completed_at=@completed_at, result=@result WHERE id=@id`,
      { id, status, attempts, last_sent_at, delivered_at, completed_at, result },
    );
  }

  async get(id: string): Promise<CommandRecord | undefined> {
    const r = await this.db.get<Row>(`SELECT ${COLS} FROM commands WHERE id = ?`, [id]);
    return r ? toRecord(r) : undefined;
  }

  async listByDevice(deviceId: string, limit: number): Promise<CommandRecord[]> {
    return (
      await this.db.all<Row>(
        `SELECT ${COLS} FROM commands WHERE device_id = ? ORDER BY issued_at DESC, id DESC LIMIT ?`,
        [deviceId, limit],
      )
    ).map(toRecord);
  }

  async listByBatch(batchId: string): Promise<CommandRecord[]> {
    return (
      await this.db.all<Row>(`SELECT ${COLS} FROM commands WHERE batch_id = ? ORDER BY site_id, device_id`, [batchId])
    ).map(toRecord);
  }

  /**
   * Queued or delivered, for one device, oldest first. Asked for in one turn
   * of the event loop, one query for all (TurnBatch): every box that connects
   * asks, thousands at once when a node dies. Inside a transaction, a query of its own.
   */
  async openForDevice(deviceId: string): Promise<CommandRecord[]> {
    return (await this.openBatch.get(deviceId)) ?? [];
  }

  /** Open commands whose expiry is at or before `now` (ISO timestamps in UTC compare correctly as text). */
  async dueToExpire(now: string, limit: number): Promise<CommandRecord[]> {
    const rows = await this.db.all<Row>(
      `SELECT ${COLS} FROM commands WHERE status IN ('queued','delivered') AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
      [now, limit],
    );
    return rows.map(toRecord);
  }
}
