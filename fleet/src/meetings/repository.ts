// The meetings' tables. Registered through FleetDb.migrate() by the meetings
// module; every table is prefixed `meeting` so areas never collide.
import type { FleetDb } from '../db/database.js';
import type { Migration } from '../db/migrations.js';
import type { MeetingRecord } from './model.js';

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
  createdAt: ms(r.created_at),
  createdBy: r.created_by,
});

// Site ids match ^[a-z0-9-]+$, so a comma-joined list is unambiguous.
const SELECT = `SELECT m.*, COALESCE((SELECT group_concat(site_id, ',') FROM meeting_sites s WHERE s.meeting_id = m.id), '') AS site_ids
  FROM meetings m`;

export interface PublishedPlan {
  edgeId: string;
  revision: number;
  body: string;
}

export class MeetingsRepo {
  private readonly stmts;

  constructor(private readonly db: FleetDb) {
    db.migrate(MEETINGS_MIGRATIONS);
    const s = db.sql;
    this.stmts = {
      insert: s.prepare(`INSERT INTO meetings (id, title, chair_site_id, starts_at, ends_at, ended_at, muted_all,
        floor_site_id, roll_call_site_id, created_at, created_by)
        VALUES (@id, @title, @chairSiteId, @startsAt, @endsAt, NULL, 0, NULL, NULL, @createdAt, @createdBy)`),
      insertSite: s.prepare('INSERT INTO meeting_sites (meeting_id, site_id) VALUES (?, ?)'),
      get: s.prepare(`${SELECT} WHERE m.id = ?`),
      // Not ended before `from`, and not starting after `to`.
      window: s.prepare(`${SELECT} WHERE m.ends_at > @from AND (m.ended_at IS NULL OR m.ended_at > @from)
        AND m.starts_at < @to ORDER BY m.starts_at, m.id`),
      recent: s.prepare(`${SELECT} ORDER BY m.starts_at DESC, m.id LIMIT ?`),
      controls: s.prepare(`UPDATE meetings SET muted_all = @mutedAll, floor_site_id = @floorSiteId,
        roll_call_site_id = @rollCallSiteId WHERE id = @id`),
      end: s.prepare('UPDATE meetings SET ended_at = ? WHERE id = ? AND ended_at IS NULL'),
      published: s.prepare('SELECT edge_id AS edgeId, revision, body FROM meeting_media_plans'),
      savePublished: s.prepare(`INSERT INTO meeting_media_plans (edge_id, revision, body, published_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(edge_id) DO UPDATE SET revision = excluded.revision, body = excluded.body, published_at = excluded.published_at`),
      setUrl: s.prepare(`INSERT INTO meeting_edge_urls (device_id, media_url, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(device_id) DO UPDATE SET media_url = excluded.media_url, updated_at = excluded.updated_at`),
      urls: s.prepare('SELECT device_id AS deviceId, media_url AS url FROM meeting_edge_urls'),
      secret: s.prepare('SELECT value FROM meeting_secrets WHERE name = ?'),
      saveSecret: s.prepare('INSERT OR IGNORE INTO meeting_secrets (name, value) VALUES (?, ?)'),
    };
  }

  insert(m: MeetingRecord): void {
    this.db.tx(() => {
      this.stmts.insert.run({
        id: m.id,
        title: m.title,
        chairSiteId: m.chairSiteId,
        startsAt: iso(m.startsAt),
        endsAt: iso(m.endsAt),
        createdAt: iso(m.createdAt),
        createdBy: m.createdBy,
      });
      for (const siteId of m.siteIds) this.stmts.insertSite.run(m.id, siteId);
    });
  }

  get(id: string): MeetingRecord | undefined {
    const r = this.stmts.get.get(id) as MeetingRow | undefined;
    return r ? toRecord(r) : undefined;
  }

  /** Meetings whose window meets [from, to): still running at `from` and starting before `to`. */
  inWindow(from: number, to: number): MeetingRecord[] {
    return (this.stmts.window.all({ from: iso(from), to: iso(to) }) as MeetingRow[]).map(toRecord);
  }

  recent(limit: number): MeetingRecord[] {
    return (this.stmts.recent.all(limit) as MeetingRow[]).map(toRecord);
  }

  setControls(id: string, c: Pick<MeetingRecord, 'mutedAll' | 'floorSiteId' | 'rollCallSiteId'>): void {
    this.stmts.controls.run({ id, mutedAll: c.mutedAll ? 1 : 0, floorSiteId: c.floorSiteId, rollCallSiteId: c.rollCallSiteId });
  }

  /** False when it had ended already. */
  end(id: string, at: number): boolean {
    return this.stmts.end.run(iso(at), id).changes === 1;
  }

  publishedPlans(): PublishedPlan[] {
    return this.stmts.published.all() as PublishedPlan[];
  }

  savePublished(p: PublishedPlan, at: number): void {
    this.stmts.savePublished.run(p.edgeId, p.revision, p.body, iso(at));
  }

  setMediaUrl(deviceId: string, url: string, at: number): void {
    this.stmts.setUrl.run(deviceId, url, iso(at));
  }

  mediaUrls(): Map<string, string> {
    return new Map((this.stmts.urls.all() as { deviceId: string; url: string }[]).map((r) => [r.deviceId, r.url]));
  }

  /** A secret created once and kept (link tokens must survive a restart). */
  secret(name: string, make: () => string): string {
    this.stmts.saveSecret.run(name, make());
    return (this.stmts.secret.get(name) as { value: string }).value;
  }
}
