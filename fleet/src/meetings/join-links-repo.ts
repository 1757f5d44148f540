// The join links the fleet issued, by their id (`jti`), never the link itself:
// an operator lists a meeting's links and revokes one, and every plan pass
// hands each site's edge the ids of its revoked links that have not expired
// yet. Stored, so every fleet node publishes the same list and a restart
// forgets no revocation.
import type { JoinClaimRole } from '@diemcau/shared';
import type { FleetDb } from '../db/database.js';
import type { Migration } from '../db/migrations.js';

export const JOIN_LINK_MIGRATIONS: Migration[] = [
  {
    name: 'meetings-003-join-links',
    sql: `
      CREATE TABLE meeting_join_links (
        jti TEXT PRIMARY KEY,
        meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
        site_id TEXT NOT NULL,
        role TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        issued_by TEXT,
        revoked_at TEXT,
        revoked_by TEXT
      );
      CREATE INDEX meeting_join_links_meeting ON meeting_join_links(meeting_id, issued_at);
      CREATE INDEX meeting_join_links_revoked ON meeting_join_links(expires_at) WHERE revoked_at IS NOT NULL;
    `,
  },
];

export interface JoinLinkRecord {
  jti: string;
  meetingId: string;
  siteId: string;
  role: JoinClaimRole;
  issuedAt: number;
  expiresAt: number;
  issuedBy: string | null;
  revokedAt: number | null;
  revokedBy: string | null;
}

interface Row {
  jti: string;
  meeting_id: string;
  site_id: string;
  role: string;
  issued_at: string;
  expires_at: string;
  issued_by: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
}

const iso = (t: number): string => new Date(t).toISOString();

const toRecord = (r: Row): JoinLinkRecord => ({
  jti: r.jti,
  meetingId: r.meeting_id,
  siteId: r.site_id,
  role: r.role as JoinClaimRole,
  issuedAt: Date.parse(r.issued_at),
  expiresAt: Date.parse(r.expires_at),
  issuedBy: r.issued_by,
  revokedAt: r.revoked_at === null ? null : Date.parse(r.revoked_at),
  revokedBy: r.revoked_by,
});

export class JoinLinksRepo {
  constructor(private readonly db: FleetDb) {}

  async insert(l: JoinLinkRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO meeting_join_links (jti, meeting_id, site_id, role, issued_at, expires_at, issued_by, revoked_at, revoked_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
      [l.jti, l.meetingId, l.siteId, l.role, iso(l.issuedAt), iso(l.expiresAt), l.issuedBy],
    );
  }

  async count(meetingId: string): Promise<number> {
    const r = await this.db.get<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM meeting_join_links WHERE meeting_id = ?',
      [meetingId],
    );
    return Number(r?.n ?? 0);
  }

  /** A meeting's links, newest first. */
  async ofMeeting(meetingId: string): Promise<JoinLinkRecord[]> {
    const rows = await this.db.all<Row>(
      'SELECT * FROM meeting_join_links WHERE meeting_id = ? ORDER BY issued_at DESC, jti',
      [meetingId],
    );
    return rows.map(toRecord);
  }

  async get(meetingId: string, jti: string): Promise<JoinLinkRecord | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM meeting_join_links WHERE meeting_id = ? AND jti = ?', [
      meetingId,
      jti,
    ]);
    return r ? toRecord(r) : undefined;
  }

  /** Revoked links of a meeting's site that are still unexpired at `now`. */
  async revokedLive(meetingId: string, siteId: string, now: number): Promise<number> {
    const r = await this.db.get<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM meeting_join_links
       WHERE meeting_id = ? AND site_id = ? AND revoked_at IS NOT NULL AND expires_at > ?`,
      [meetingId, siteId, iso(now)],
    );
    return Number(r?.n ?? 0);
  }

  /** Marks the links revoked (those not revoked already); returns how many it marked. */
  async revoke(jtis: readonly string[], by: string | null, at: number): Promise<number> {
    let n = 0;
    for (const jti of jtis) {
      n += (
        await this.db.run(
          'UPDATE meeting_join_links SET revoked_at = ?, revoked_by = ? WHERE jti = ? AND revoked_at IS NULL',
          [iso(at), by, jti],
        )
      ).changes;
    }
    return n;
  }

  /** Every revoked link not yet expired: meeting → site → ids (what the plans carry), ids sorted. */
  async revokedUnexpired(now: number): Promise<Map<string, Map<string, string[]>>> {
    const rows = await this.db.all<{ meetingId: string; siteId: string; jti: string }>(
      `SELECT meeting_id AS "meetingId", site_id AS "siteId", jti FROM meeting_join_links
       WHERE revoked_at IS NOT NULL AND expires_at > ? ORDER BY jti`,
      [iso(now)],
    );
    const out = new Map<string, Map<string, string[]>>();
    for (const r of rows) {
      const bySite = out.get(r.meetingId) ?? new Map<string, string[]>();
      bySite.set(r.siteId, [...(bySite.get(r.siteId) ?? []), r.jti]);
      out.set(r.meetingId, bySite);
    }
    return out;
  }
}
