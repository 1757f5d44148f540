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
  constructor(private readonly db: FleetDb) {}

  async getOpen(key: string): Promise<Alert | undefined> {
    const r = await this.db.get<AlertRow>(`SELECT * FROM alerts WHERE key = ? AND state = 'open'`, [key]);
    return r ? toAlert(r) : undefined;
  }

  async get(id: number): Promise<Alert | undefined> {
    const r = await this.db.get<AlertRow>('SELECT * FROM alerts WHERE id = ?', [id]);
    return r ? toAlert(r) : undefined;
  }

  /**
   * Opens an alert, or returns the one already open under the same key
   * (created=false). The partial unique index decides, not a read before the
   * write: two fleet nodes opening the same key at once open it once.
   */
  async open(a: NewAlert): Promise<{ alert: Alert; created: boolean }> {
    const row = await this.db.get<AlertRow>(
      `INSERT INTO alerts (type, key, severity, state, site_id, device_id, message, details, opened_at, updated_at)
       VALUES (@type, @key, @severity, 'open', @siteId, @deviceId, @message, @details, @now, @now)
       ON CONFLICT (key) WHERE state = 'open' DO NOTHING RETURNING *`,
      {
        type: a.type,
        key: a.key,
        severity: a.severity ?? 'warning',
        siteId: a.siteId ?? null,
        deviceId: a.deviceId ?? null,
        message: a.message ?? null,
        details: a.details === undefined ? null : JSON.stringify(a.details),
        now: new Date().toISOString(),
      },
    );
    if (row) return { alert: toAlert(row), created: true };
    const existing = await this.getOpen(a.key);
    if (existing) return { alert: existing, created: false };
    // Resolved between our insert and our read: open it again, as a new condition.
    return this.open(a);
  }

  async update(
    key: string,
    patch: { details?: Record<string, unknown>; message?: string; severity?: AlertSeverity },
  ): Promise<Alert | undefined> {
    const open = await this.getOpen(key);
    if (!open) return undefined;
    const row = await this.db.get<AlertRow>(
      `UPDATE alerts SET details = @details, message = COALESCE(@message, message),
         severity = COALESCE(@severity, severity), updated_at = @now WHERE id = @id RETURNING *`,
      {
        id: open.id,
        details: JSON.stringify(patch.details ?? open.details ?? {}),
        message: patch.message ?? null,
        severity: patch.severity ?? null,
        now: new Date().toISOString(),
      },
    );
    return row ? toAlert(row) : undefined;
  }

  async resolve(key: string, resolution: string): Promise<Alert | undefined> {
    const row = await this.db.get<AlertRow>(
      `UPDATE alerts SET state = 'resolved', resolved_at = @now, updated_at = @now, resolution = @resolution
       WHERE key = @key AND state = 'open' RETURNING *`,
      { key, resolution, now: new Date().toISOString() },
    );
    return row ? toAlert(row) : undefined;
  }

  /** Filters left out are NULL; the casts tell PostgreSQL their type where nothing else does. */
  async list(
    q: {
      state?: AlertState | undefined;
      type?: string | undefined;
      deviceId?: string | undefined;
      limit?: number | undefined;
    } = {},
  ): Promise<Alert[]> {
    const rows = await this.db.all<AlertRow>(
      `SELECT * FROM alerts WHERE (CAST(@state AS TEXT) IS NULL OR state = @state) AND (CAST(@type AS TEXT) IS NULL OR type = @type)
         AND (CAST(@deviceId AS TEXT) IS NULL OR device_id = @deviceId) ORDER BY id DESC LIMIT @limit`,
      { state: q.state ?? null, type: q.type ?? null, deviceId: q.deviceId ?? null, limit: q.limit ?? 500 },
    );
    return rows.map(toAlert);
  }

  async openCount(): Promise<number> {
    return (await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM alerts WHERE state = 'open'`))!.n;
  }
}
