// The readiness table: one row per (meeting, site), kept with the meeting so
// the board and the chair still read what each room measured after it starts.
import type { FleetDb } from '../db/database.js';
import type { Migration } from '../db/migrations.js';
import type { ReadinessReport } from '@diemcau/shared';
import type { ReadinessColour, ReadinessReason } from './grade.js';

export const READINESS_MIGRATIONS: Migration[] = [
  {
    name: 'meeting-readiness-001',
    sql: `
      CREATE TABLE meeting_readiness (
        meeting_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        device_id TEXT,
        request_id TEXT,
        run_at TEXT,
        requested_at TEXT NOT NULL,
        reported_at TEXT,
        colour TEXT NOT NULL,
        reasons TEXT NOT NULL,
        report TEXT,
        -- A red site's alert is open (closed on green or when the meeting ends).
        alert_open INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (meeting_id, site_id)
      ) WITHOUT ROWID;
      CREATE INDEX meeting_readiness_device ON meeting_readiness(device_id, request_id);
      CREATE INDEX meeting_readiness_alerts ON meeting_readiness(alert_open);
    `,
  },
];

export interface ReadinessRow {
  meetingId: string;
  siteId: string;
  deviceId: string | null;
  requestId: string | null;
  runAt: number | null;
  requestedAt: number;
  reportedAt: number | null;
  colour: ReadinessColour;
  reasons: ReadinessReason[];
  report: ReadinessReport | null;
  alertOpen: boolean;
}

interface Raw {
  meeting_id: string;
  site_id: string;
  device_id: string | null;
  request_id: string | null;
  run_at: string | null;
  requested_at: string;
  reported_at: string | null;
  colour: string;
  reasons: string;
  report: string | null;
  alert_open: number | boolean;
}

const iso = (t: number): string => new Date(t).toISOString();
const ms = (s: string | null): number | null => (s === null ? null : Date.parse(s));

const toRow = (r: Raw): ReadinessRow => ({
  meetingId: r.meeting_id,
  siteId: r.site_id,
  deviceId: r.device_id,
  requestId: r.request_id,
  runAt: ms(r.run_at),
  requestedAt: Date.parse(r.requested_at),
  reportedAt: ms(r.reported_at),
  colour: r.colour as ReadinessColour,
  reasons: JSON.parse(r.reasons) as ReadinessReason[],
  report: r.report === null ? null : (JSON.parse(r.report) as ReadinessReport),
  alertOpen: Number(r.alert_open) === 1,
});

export class ReadinessRepo {
  private constructor(private readonly db: FleetDb) {}

  static async open(db: FleetDb): Promise<ReadinessRepo> {
    await db.migrate(READINESS_MIGRATIONS);
    return new ReadinessRepo(db);
  }

  async forMeeting(meetingId: string): Promise<ReadinessRow[]> {
    const rows = await this.db.all<Raw>('SELECT * FROM meeting_readiness WHERE meeting_id = ? ORDER BY site_id', [
      meetingId,
    ]);
    return rows.map(toRow);
  }

  async byRequest(deviceId: string, requestId: string): Promise<ReadinessRow | undefined> {
    const r = await this.db.get<Raw>('SELECT * FROM meeting_readiness WHERE device_id = ? AND request_id = ?', [
      deviceId,
      requestId,
    ]);
    return r && toRow(r);
  }

  /** Rows with a red site's alert open, for closing them when their meeting ends. */
  async withOpenAlerts(): Promise<ReadinessRow[]> {
    return (await this.db.all<Raw>('SELECT * FROM meeting_readiness WHERE alert_open = 1')).map(toRow);
  }

  /** Replaces a meeting's rows (a new round of checks). */
  async replace(meetingId: string, rows: readonly ReadinessRow[]): Promise<void> {
    await this.db.tx(async () => {
      await this.db.run('DELETE FROM meeting_readiness WHERE meeting_id = ?', [meetingId]);
      for (const r of rows) await this.insert(r);
    });
  }

  async save(r: ReadinessRow): Promise<void> {
    await this.db.run(
      `UPDATE meeting_readiness SET reported_at = ?, colour = ?, reasons = ?, report = ?, alert_open = ?
       WHERE meeting_id = ? AND site_id = ?`,
      [
        r.reportedAt === null ? null : iso(r.reportedAt),
        r.colour,
        JSON.stringify(r.reasons),
        r.report === null ? null : JSON.stringify(r.report),
        r.alertOpen ? 1 : 0,
        r.meetingId,
        r.siteId,
      ],
    );
  }

  private async insert(r: ReadinessRow): Promise<void> {
    await this.db.run(
      `INSERT INTO meeting_readiness (meeting_id, site_id, device_id, request_id, run_at, requested_at,
         reported_at, colour, reasons, report, alert_open) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.meetingId,
        r.siteId,
        r.deviceId,
        r.requestId,
        r.runAt === null ? null : iso(r.runAt),
        iso(r.requestedAt),
        r.reportedAt === null ? null : iso(r.reportedAt),
        r.colour,
        JSON.stringify(r.reasons),
        r.report === null ? null : JSON.stringify(r.report),
        r.alertOpen ? 1 : 0,
      ],
    );
  }
}
