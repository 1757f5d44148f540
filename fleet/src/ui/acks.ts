import type { FleetDb } from '../db/database.js';
import type { UiAck } from './ui-events.js';

// Acknowledgements of alerts ("seen, someone is on it", with a note). Kept in
// the dashboard's own table beside the alerts rather than in them: the alerts
// module owns its rows, and an ack changes nothing about an alert's life.
// TODO: move into the alerts module (an `acknowledged_*` column set and
// `AlertService.acknowledge()`) once it has one, so the webhook can tell too.

export const ACK_MIGRATIONS = [
  {
    name: 'ui-001-alert-acks',
    sql: `
      CREATE TABLE ui_alert_acks (
        alert_id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        operator_id TEXT,
        operator_name TEXT,
        note TEXT NOT NULL
      );
    `,
  },
];

interface AckRow {
  alert_id: number;
  at: string;
  operator_name: string | null;
  note: string;
}
const toAck = (r: AckRow): UiAck => ({ alertId: r.alert_id, at: r.at, by: r.operator_name, note: r.note });

export class AcksRepo {
  private constructor(private readonly db: FleetDb) {}

  /** Applies the acks' migration first. */
  static async open(db: FleetDb): Promise<AcksRepo> {
    await db.migrate(ACK_MIGRATIONS);
    return new AcksRepo(db);
  }

  async acknowledge(alertId: number, by: { id: string; name: string } | null, note: string): Promise<UiAck> {
    const at = new Date().toISOString();
    // A second ack replaces the first: the newest note is the one that matters.
    await this.db.run(
      `INSERT INTO ui_alert_acks (alert_id, at, operator_id, operator_name, note) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(alert_id) DO UPDATE SET at = excluded.at, operator_id = excluded.operator_id,
       operator_name = excluded.operator_name, note = excluded.note`,
      [alertId, at, by?.id ?? null, by?.name ?? null, note],
    );
    return { alertId, at, by: by?.name ?? null, note };
  }

  async get(alertId: number): Promise<UiAck | undefined> {
    const r = await this.db.get<AckRow>(
      'SELECT alert_id, at, operator_name, note FROM ui_alert_acks WHERE alert_id = ?',
      [alertId],
    );
    return r ? toAck(r) : undefined;
  }

  /** The acks of the newest alerts; the dashboard joins them to the alert list. */
  async recent(limit: number): Promise<UiAck[]> {
    return (
      await this.db.all<AckRow>(
        'SELECT alert_id, at, operator_name, note FROM ui_alert_acks ORDER BY alert_id DESC LIMIT ?',
        [limit],
      )
    ).map(toAck);
  }
}
