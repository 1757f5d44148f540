import type { AlertSeverity } from '../alerts/alert-types.js';
import type { FleetDb } from './database.js';

export type { AlertSeverity };

export type AlertState = 'open' | 'resolved';

export interface Alert {
  id: number;
  type: string;
  key: string;
  severity: AlertSeverity;
  state: AlertState;
  siteId: string | null;
  deviceId: string | null;
  message: string | null;
  details: Record<string, unknown> | null;
  openedAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  resolution: string | null;
}

export interface NewAlert {
  type: string;
  /** Identity of the condition: one open alert per key. */
  key: string;
  severity?: AlertSeverity | undefined;
  siteId?: string | null | undefined;
  deviceId?: string | null | undefined;
  message?: string | null | undefined;
  details?: Record<string, unknown> | undefined;
}

interface AlertRow {
  id: number;
  type: string;
  key: string;
  severity: string;
  state: string;
  site_id: string | null;
  device_id: string | null;
  message: string | null;
  details: string | null;
  opened_at: string;
  updated_at: string;
  resolved_at: string | null;
  resolution: string | null;
}

const toAlert = (r: AlertRow): Alert => ({
  id: r.id,
  type: r.type,
  key: r.key,
  severity: r.severity as AlertSeverity,
  state: r.state as AlertState,
  siteId: r.site_id,
  deviceId: r.device_id,
  message: r.message,
  details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
  openedAt: r.opened_at,
  updatedAt: r.updated_at,
  resolvedAt: r.resolved_at,
  resolution: r.resolution,
});

export class AlertsRepo {
  private readonly stmts;

  constructor(private readonly db: FleetDb) {
    const s = db.sql;
    this.stmts = {
      openByKey: s.prepare(`SELECT * FROM alerts WHERE key = ? AND state = 'open'`),
      get: s.prepare('SELECT * FROM alerts WHERE id = ?'),
      insert: s.prepare(`INSERT INTO alerts (type, key, severity, state, site_id, device_id, message, details, opened_at, updated_at)
        VALUES (@type, @key, @severity, 'open', @siteId, @deviceId, @message, @details, @now, @now)`),
      update: s.prepare(`UPDATE alerts SET details = @details, message = COALESCE(@message, message),
        severity = COALESCE(@severity, severity), updated_at = @now WHERE id = @id`),
      resolve: s.prepare(`UPDATE alerts SET state = 'resolved', resolved_at = @now, updated_at = @now, resolution = @resolution
        WHERE id = @id AND state = 'open'`),
      list: s.prepare(`SELECT * FROM alerts WHERE (@state IS NULL OR state = @state) AND (@type IS NULL OR type = @type)
        AND (@deviceId IS NULL OR device_id = @deviceId) ORDER BY id DESC LIMIT @limit`),
      openCount: s.prepare(`SELECT COUNT(*) AS n FROM alerts WHERE state = 'open'`),
    };
  }

  getOpen(key: string): Alert | undefined {
    const r = this.stmts.openByKey.get(key) as AlertRow | undefined;
    return r ? toAlert(r) : undefined;
  }

  get(id: number): Alert | undefined {
    const r = this.stmts.get.get(id) as AlertRow | undefined;
    return r ? toAlert(r) : undefined;
  }

  /** Opens an alert, or returns the one already open under the same key (created=false). */
  open(a: NewAlert): { alert: Alert; created: boolean } {
    return this.db.tx(() => {
      const existing = this.getOpen(a.key);
      if (existing) return { alert: existing, created: false };
      const r = this.stmts.insert.run({
        type: a.type,
        key: a.key,
        severity: a.severity ?? 'warning',
        siteId: a.siteId ?? null,
        deviceId: a.deviceId ?? null,
        message: a.message ?? null,
        details: a.details === undefined ? null : JSON.stringify(a.details),
        now: new Date().toISOString(),
      });
      return { alert: this.get(Number(r.lastInsertRowid))!, created: true };
    });
  }

  update(key: string, patch: { details?: Record<string, unknown>; message?: string; severity?: AlertSeverity }): Alert | undefined {
    const open = this.getOpen(key);
    if (!open) return undefined;
    this.stmts.update.run({
      id: open.id,
      details: JSON.stringify(patch.details ?? open.details ?? {}),
      message: patch.message ?? null,
      severity: patch.severity ?? null,
      now: new Date().toISOString(),
    });
    return this.get(open.id);
  }

  resolve(key: string, resolution: string): Alert | undefined {
    const open = this.getOpen(key);
    if (!open) return undefined;
    this.stmts.resolve.run({ id: open.id, resolution, now: new Date().toISOString() });
    return this.get(open.id);
  }

  list(q: { state?: AlertState | undefined; type?: string | undefined; deviceId?: string | undefined; limit?: number | undefined } = {}): Alert[] {
    const rows = this.stmts.list.all({
      state: q.state ?? null,
      type: q.type ?? null,
      deviceId: q.deviceId ?? null,
      limit: q.limit ?? 500,
    }) as AlertRow[];
    return rows.map(toAlert);
  }

  openCount(): number {
    return (this.stmts.openCount.get() as { n: number }).n;
  }
}
