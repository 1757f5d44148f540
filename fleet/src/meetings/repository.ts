// The meetings' tables. Registered through FleetDb.migrate() by the meetings
// module; every table is prefixed `meeting` so areas never collide.
import type { FleetDb } from '../db/database.js';
import type { Migration } from '../db/migrations.js';
import type { MeetingRecord } from './model.js';
import { SPEAK_REQUEST_MIGRATIONS } from './requests-repo.js';
import { JOIN_LINK_MIGRATIONS } from './join-links-repo.js';

export const MEETINGS_MIGRATIONS: Migration[] = [
  {
    name: 'meetings-001',
    sql: `
      CREATE TABLE meetings (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        chair_site_id TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        ended_at TEXT,
        muted_all INTEGER NOT NULL DEFAULT 0,
        floor_site_id TEXT,
        roll_call_site_id TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT
      );
      CREATE INDEX meetings_window ON meetings(ends_at, starts_at);

      CREATE TABLE meeting_sites (
        meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
        site_id TEXT NOT NULL,
        PRIMARY KEY (meeting_id, site_id)
      ) WITHOUT ROWID;
      CREATE INDEX meeting_sites_site ON meeting_sites(site_id);

      -- The last plan published to each edge: its revision must keep growing
      -- across restarts, and an unchanged body is not published again.
      CREATE TABLE meeting_media_plans (
        edge_id TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        body TEXT NOT NULL,
        published_at TEXT NOT NULL
      );

      -- Signalling URLs edges announce in their presence birth.
      CREATE TABLE meeting_edge_urls (
        device_id TEXT PRIMARY KEY,
        media_url TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );

      CREATE TABLE meeting_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  ...SPEAK_REQUEST_MIGRATIONS,
  ...JOIN_LINK_MIGRATIONS,
];

interface MeetingRow {
  id: string;
  title: string;
  chair_site_id: string;
  starts_at: string;
  ends_at: string;
  ended_at: string | null;
  muted_all: number;
  floor_site_id: string | null;
  roll_call_site_id: string | null;
  floor_participant_id: string | null;
  created_at: string;
  created_by: string | null;
  site_ids: string;
}

const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString();

const toRecord = (r: MeetingRow): MeetingRecord => ({
  id: r.id,
  title: r.title,
  chairSiteId: r.chair_site_id,
  siteIds: r.site_ids === '' ? [] : r.site_ids.split(',').sort(),
  startsAt: ms(r.starts_at),
  endsAt: ms(r.ends_at),
  endedAt: r.ended_at === null ? null : ms(r.ended_at),
  mutedAll: r.muted_all === 1,
  floorSiteId: r.floor_site_id,
  rollCallSiteId: r.roll_call_site_id,
  floorParticipantId: r.floor_participant_id,
  createdAt: ms(r.created_at),
  createdBy: r.created_by,
});

// Site ids match ^[a-z0-9-]+$, so a comma-joined list is unambiguous.
const selectFrom = (db: FleetDb): string => {
  const agg = db.dialect === 'postgres' ? "string_agg(site_id, ',')" : "group_concat(site_id, ',')";
  return `SELECT m.*, COALESCE((SELECT ${agg} FROM meeting_sites s WHERE s.meeting_id = m.id), '') AS site_ids FROM meetings m`;
};

export interface PublishedPlan {
  edgeId: string;
  revision: number;
  body: string;
}

export class MeetingsRepo {
  private readonly select: string;

  private constructor(private readonly db: FleetDb) {
    this.select = selectFrom(db);
  }

  /** Applies the meetings' migrations first. */
  static async open(db: FleetDb): Promise<MeetingsRepo> {
    await db.migrate(MEETINGS_MIGRATIONS);
    return new MeetingsRepo(db);
  }

  /**
   * Runs fn (read the schedule, check, insert) as one transaction that takes
   * turns with every other scheduling one: a PostgreSQL advisory lock held to
   * the commit, across fleet nodes; SQLite's write lock, across processes.
   */
  scheduling<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.tx(fn, { lock: 'diemcau-meeting-schedule' });
  }

  insert(m: MeetingRecord): Promise<void> {
    return this.db.tx(async () => {
      await this.db.run(
        `INSERT INTO meetings (id, title, chair_site_id, starts_at, ends_at, ended_at, muted_all, floor_site_id, roll_call_site_id, created_at, created_by)
         VALUES (@id, @title, @chairSiteId, @startsAt, @endsAt, NULL, 0, NULL, NULL, @createdAt, @createdBy)`,
        {
          id: m.id,
          title: m.title,
          chairSiteId: m.chairSiteId,
          startsAt: iso(m.startsAt),
          endsAt: iso(m.endsAt),
          createdAt: iso(m.createdAt),
          createdBy: m.createdBy,
        },
      );
      for (const siteId of m.siteIds)
        await this.db.run('INSERT INTO meeting_sites (meeting_id, site_id) VALUES (?, ?)', [m.id, siteId]);
    });
  }

  async get(id: string): Promise<MeetingRecord | undefined> {
    const r = await this.db.get<MeetingRow>(`${this.select} WHERE m.id = ?`, [id]);
    return r ? toRecord(r) : undefined;
  }

  /** Meetings whose window meets [from, to): still running at `from` (not ended before it) and starting before `to`. */
  async inWindow(from: number, to: number): Promise<MeetingRecord[]> {
    const rows = await this.db.all<MeetingRow>(
      `${this.select} WHERE m.ends_at > @from AND (m.ended_at IS NULL OR m.ended_at > @from) AND m.starts_at < @to ORDER BY m.starts_at, m.id`,
      { from: iso(from), to: iso(to) },
    );
    return rows.map(toRecord);
  }

  async recent(limit: number): Promise<MeetingRecord[]> {
    return (await this.db.all<MeetingRow>(`${this.select} ORDER BY m.starts_at DESC, m.id LIMIT ?`, [limit])).map(
      toRecord,
    );
  }

  async setControls(
    id: string,
    c: Pick<MeetingRecord, 'mutedAll' | 'floorSiteId' | 'floorParticipantId' | 'rollCallSiteId'>,
  ): Promise<void> {
    await this.db.run(
      `UPDATE meetings SET muted_all = @mutedAll, floor_site_id = @floorSiteId, floor_participant_id = @floorParticipantId,
       roll_call_site_id = @rollCallSiteId WHERE id = @id`,
      {
        id,
        mutedAll: c.mutedAll ? 1 : 0,
        floorSiteId: c.floorSiteId,
        floorParticipantId: c.floorParticipantId,
        rollCallSiteId: c.rollCallSiteId,
      },
    );
  }

  /** False when it had ended already. */
  async end(id: string, at: number): Promise<boolean> {
    return (
      (await this.db.run('UPDATE meetings SET ended_at = ? WHERE id = ? AND ended_at IS NULL', [iso(at), id]))
        .changes === 1
    );
  }

  publishedPlans(): Promise<PublishedPlan[]> {
    return this.db.all<PublishedPlan>('SELECT edge_id AS "edgeId", revision, body FROM meeting_media_plans');
  }

  async savePublished(p: PublishedPlan, at: number): Promise<void> {
    await this.db.run(
      `INSERT INTO meeting_media_plans (edge_id, revision, body, published_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(edge_id) DO UPDATE SET revision = excluded.revision, body = excluded.body, published_at = excluded.published_at`,
      [p.edgeId, p.revision, p.body, iso(at)],
    );
  }

  async setMediaUrl(deviceId: string, url: string, at: number): Promise<void> {
    await this.db.run(
      `INSERT INTO meeting_edge_urls (device_id, media_url, updated_at) VALUES (?, ?, ?)
       ON CONFLICT(device_id) DO UPDATE SET media_url = excluded.media_url, updated_at = excluded.updated_at`,
      [deviceId, url, iso(at)],
    );
  }

  async mediaUrls(): Promise<Map<string, string>> {
    const rows = await this.db.all<{ deviceId: string; url: string }>(
      'SELECT device_id AS "deviceId", media_url AS url FROM meeting_edge_urls',
    );
    return new Map(rows.map((r) => [r.deviceId, r.url]));
  }

  /** A secret created once and kept (link tokens must survive a restart); the first fleet node to ask makes it. */
  async secret(name: string, make: () => string): Promise<string> {
    await this.db.run('INSERT INTO meeting_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING', [name, make()]);
    return (await this.db.get<{ value: string }>('SELECT value FROM meeting_secrets WHERE name = ?', [name]))!.value;
  }
}
