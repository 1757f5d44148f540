import type { FleetDb } from './database.js';

export interface AuditEntry {
  id: number;
  at: string;
  operatorId: string | null;
  operatorName: string | null;
  action: string;
  target: string | null;
  outcome: string | null;
  details: unknown;
}

export interface NewAuditEntry {
  operatorId: string | null;
  operatorName: string | null;
  /** What was done, e.g. `POST /api/v1/devices/:id/commands` or `command.reboot`. */
  action: string;
  /** Whom it was done to, e.g. `device:dev-1`, `site:yb-city`. */
  target?: string | null;
  /** e.g. the HTTP status, `succeeded`, `refused`. */
  outcome?: string | null;
  details?: unknown;
}

interface AuditRow {
  id: number;
  at: string;
  operator_id: string | null;
  operator_name: string | null;
  action: string;
  target: string | null;
  outcome: string | null;
  details: string | null;
}

/** Append-only log of who did what to whom, when, and how it ended. */
export class AuditRepo {
  constructor(private readonly db: FleetDb) {}

  async record(e: NewAuditEntry): Promise<number> {
    const r = await this.db.get<{ id: number }>(
      `INSERT INTO audit_log (at, operator_id, operator_name, action, target, outcome, details) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
        new Date().toISOString(),
        e.operatorId,
        e.operatorName,
        e.action,
        e.target ?? null,
        e.outcome ?? null,
        e.details === undefined ? null : JSON.stringify(e.details),
      ],
    );
    return r!.id;
  }

  /** Newest first. */
  async list(
    q: {
      target?: string | undefined;
      operatorId?: string | undefined;
      before?: number | undefined;
      limit?: number | undefined;
    } = {},
  ): Promise<AuditEntry[]> {
    const rows = await this.db.all<AuditRow>(
      `SELECT * FROM audit_log WHERE (CAST(@target AS TEXT) IS NULL OR target = @target)
         AND (CAST(@operatorId AS TEXT) IS NULL OR operator_id = @operatorId) AND (CAST(@before AS BIGINT) IS NULL OR id < @before)
       ORDER BY id DESC LIMIT @limit`,
      { target: q.target ?? null, operatorId: q.operatorId ?? null, before: q.before ?? null, limit: q.limit ?? 100 },
    );
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      operatorId: r.operator_id,
      operatorName: r.operator_name,
      action: r.action,
      target: r.target,
      outcome: r.outcome,
      details: r.details === null ? null : (JSON.parse(r.details) as unknown),
    }));
  }
}
