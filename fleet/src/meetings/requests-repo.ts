// The requests to speak, stored: a box's help button reaches the fleet node
// it is connected to, while the chair's console may read (and answer through)
// another, so the list lives in the registry that every node shares, not in
// one node's memory; a restarted fleet keeps it too. One waiting request per
// site and meeting (a unique index, so two nodes taking the same site's press
// at once keep one); a browser's request the chair answered is kept, as the
// latest answered one per participant, because its edge goes on reporting the
// hand until it sees the plan and that report must not bring it back. Rows go
// with their meeting when it ends (clear, clearEnded).
import type { FleetDb } from '../db/database.js';
import type { Migration } from '../db/migrations.js';

export const SPEAK_REQUEST_MIGRATIONS: Migration[] = [
  {
    name: 'meetings-002-speak-requests',
    sql: `
      -- The browser participant given the floor with its site (requests.ts).
      ALTER TABLE meetings ADD COLUMN floor_participant_id TEXT;

      CREATE TABLE meeting_speak_requests (
        id INTEGER PRIMARY KEY,
        meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
        site_id TEXT NOT NULL,
        participant_id TEXT,
        source TEXT NOT NULL,
        at TEXT NOT NULL,
        answered_at TEXT
      );
      CREATE UNIQUE INDEX meeting_speak_waiting ON meeting_speak_requests(meeting_id, site_id) WHERE answered_at IS NULL;
      CREATE INDEX meeting_speak_answered ON meeting_speak_requests(meeting_id, participant_id) WHERE answered_at IS NOT NULL;
    `,
  },
];

export type SpeakSource = 'button' | 'simulated' | 'browser';

export interface SpeakRequest {
  siteId: string;
  /** When the room asked (the device's clock); ISO. */
  at: string;
  source: SpeakSource;
  /** A browser participant's id (its streams' site id, e.g. `site-a.web2`), when one asked. */
  participantId?: string;
}

/**
 * Rows one meeting may hold: a waiting request per site (at most its roster)
 * plus the answered browser requests, one per participant who asked. A press
 * past it is logged and dropped, never stored.
 */
export const MAX_SPEAK_ROWS_PER_MEETING = 2048;

interface Row {
  id: number | string;
  site_id: string;
  participant_id: string | null;
  source: string;
  at: string;
}

const toRequest = (r: Row): SpeakRequest => ({
  siteId: r.site_id,
  at: r.at,
  source: r.source as SpeakSource,
  ...(r.participant_id !== null ? { participantId: r.participant_id } : {}),
});

export class SpeakRequestsRepo {
  constructor(private readonly db: FleetDb) {}

  /**
   * Stores the request unless its site already waits (the first ask keeps its
   * place), the chair already answered this participant's hand (a report of
   * the same or an older one), or the meeting is full. True when stored.
   */
  async add(meetingId: string, r: SpeakRequest): Promise<boolean> {
    const res = await this.db.run(
      `INSERT INTO meeting_speak_requests (meeting_id, site_id, participant_id, source, at)
       SELECT @meetingId, @siteId, @participantId, @source, @at
       WHERE NOT EXISTS (
           SELECT 1 FROM meeting_speak_requests
           WHERE meeting_id = @meetingId AND participant_id = @participantId AND answered_at IS NOT NULL AND at >= @at)
         AND (SELECT COUNT(*) FROM meeting_speak_requests WHERE meeting_id = @meetingId) < @max
       ON CONFLICT DO NOTHING`,
      {
        meetingId,
        siteId: r.siteId,
        participantId: r.participantId ?? null,
        source: r.source,
        at: r.at,
        max: MAX_SPEAK_ROWS_PER_MEETING,
      },
    );
    return res.changes === 1;
  }

  /** The waiting requests, in the order they were taken. */
  async waiting(meetingId: string): Promise<SpeakRequest[]> {
    const rows = await this.db.all<Row>(
      'SELECT * FROM meeting_speak_requests WHERE meeting_id = ? AND answered_at IS NULL ORDER BY id',
      [meetingId],
    );
    return rows.map(toRequest);
  }

  /**
   * Answers the site's waiting request: a button's goes, a browser's is kept
   * as that participant's answered hand (its older ones go). Returns the
   * request, or null when none waited (or another node answered it first).
   */
  answer(meetingId: string, siteId: string, at: number): Promise<SpeakRequest | null> {
    return this.db.tx(async () => {
      const row = await this.db.get<Row>(
        'SELECT * FROM meeting_speak_requests WHERE meeting_id = ? AND site_id = ? AND answered_at IS NULL',
        [meetingId, siteId],
      );
      if (!row) return null;
      const taken =
        row.participant_id === null
          ? await this.db.run('DELETE FROM meeting_speak_requests WHERE id = ? AND answered_at IS NULL', [row.id])
          : await this.db.run(
              'UPDATE meeting_speak_requests SET answered_at = ? WHERE id = ? AND answered_at IS NULL',
              [new Date(at).toISOString(), row.id],
            );
      if (taken.changes !== 1) return null;
      if (row.participant_id !== null) {
        await this.db.run(
          'DELETE FROM meeting_speak_requests WHERE meeting_id = ? AND participant_id = ? AND answered_at IS NOT NULL AND id <> ?',
          [meetingId, row.participant_id, row.id],
        );
      }
      return toRequest(row);
    });
  }

  /** The meeting ended: its requests go. */
  async clear(meetingId: string): Promise<void> {
    await this.db.run('DELETE FROM meeting_speak_requests WHERE meeting_id = ?', [meetingId]);
  }

  /** Requests of every meeting that has ended by `now` (by hand or by the clock) go. */
  async clearEnded(now: number): Promise<number> {
    const t = new Date(now).toISOString();
    return (
      await this.db.run(
        `DELETE FROM meeting_speak_requests WHERE meeting_id IN (
           SELECT id FROM meetings WHERE ends_at <= ? OR (ended_at IS NOT NULL AND ended_at <= ?))`,
        [t, t],
      )
    ).changes;
  }
}
