import type { Peripherals, Telemetry } from '@diemcau/shared';
import type { FleetDb } from './database.js';
import { TurnBatch, TurnWrites } from './turn-batch.js';

export interface DeviceRecord {
  id: string;
  siteId: string;
  serial: string | null;
  model: string | null;
  os: string | null;
  agentVersion: string | null;
  hardware: string | null;
  peripherals: Peripherals | null;
  online: boolean;
  lastSeenAt: string | null;
  presenceAt: string | null;
  enrolledAt: string;
  revokedAt: string | null;
  /** The newest telemetry sample (highest seq), if any. */
  latest: { seq: number; at: string; receivedAt: string; data: Telemetry } | null;
}

interface DeviceRow {
  id: string;
  site_id: string;
  serial: string | null;
  model: string | null;
  os: string | null;
  agent_version: string | null;
  hardware: string | null;
  peripherals: string | null;
  online: number;
  last_seen_at: string | null;
  presence_at: string | null;
  enrolled_at: string;
  revoked_at: string | null;
  latest_seq: number | null;
  latest_telemetry: string | null;
  latest_received_at: string | null;
}

const COLS = `id, site_id, serial, model, os, agent_version, hardware, peripherals, online, last_seen_at,
  presence_at, enrolled_at, revoked_at, latest_seq, latest_telemetry, latest_received_at`;

function latestOf(r: DeviceRow): DeviceRecord['latest'] {
  if (r.latest_seq === null || r.latest_telemetry === null) return null;
  const data = JSON.parse(r.latest_telemetry) as Telemetry;
  return { seq: r.latest_seq, at: data.at, receivedAt: r.latest_received_at ?? data.at, data };
}

const toDevice = (r: DeviceRow): DeviceRecord => ({
  id: r.id,
  siteId: r.site_id,
  serial: r.serial,
  model: r.model,
  os: r.os,
  agentVersion: r.agent_version,
  hardware: r.hardware,
  peripherals: r.peripherals ? (JSON.parse(r.peripherals) as Peripherals) : null,
  online: r.online === 1,
  lastSeenAt: r.last_seen_at,
  presenceAt: r.presence_at,
  enrolledAt: r.enrolled_at,
  revokedAt: r.revoked_at,
  latest: latestOf(r),
});

/** A device's presence in the registry: written by the leader only. */
export interface DevicePresence {
  id: string;
  online: boolean;
  /** When the leader last changed it; null if it never did. */
  presenceAt: string | null;
}

export interface NewDevice {
  id: string;
  siteId: string;
  serial: string | null;
  passwordHash: string;
  model?: string | undefined;
  os?: string | undefined;
  agentVersion?: string | undefined;
  /** The enrolment token that enrolled it; null or absent when by serial. */
  enrolTokenId?: number | null;
}

/**
 * A birth's text as the registry can hold it: PostgreSQL refuses U+0000 in
 * text, and one box's such birth failed the births of every box in its batch.
 */
const text = (v: string | undefined): string | null => (v === undefined ? null : v.replaceAll('\u0000', ''));

const inList = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** What a box's birth says about it; absent fields are left as they are. */
export interface Birth {
  agentVersion?: string | undefined;
  os?: string | undefined;
  hardware?: string | undefined;
  peripherals?: Peripherals | undefined;
}

export class DevicesRepo {
  constructor(private readonly db: FleetDb) {}

  private readonly births = new TurnWrites<string, Birth>(
    (entries) => this.setBirths(entries),
    () => this.db.inTransaction(),
    100,
    // Two births of a box in one turn: the later's fields over the earlier's.
    (earlier, later) => ({
      ...earlier,
      ...Object.fromEntries(Object.entries(later).filter(([, v]) => v !== undefined)),
    }),
  );

  private readonly credentialsBatch = new TurnBatch<string, string>(
    async (ids) => {
      const rows = await this.db.all<{ id: string; password_hash: string }>(
        `SELECT id, password_hash FROM devices WHERE id IN (${inList(ids.length)}) AND revoked_at IS NULL`,
        ids,
      );
      return new Map(rows.map((r) => [r.id, r.password_hash]));
    },
    () => this.db.inTransaction(),
  );

  private readonly siteBatch = new TurnBatch<string, { siteId: string; revoked: boolean }>(
    async (ids) => {
      const rows = await this.db.all<{ id: string; site_id: string; revoked: number | boolean }>(
        `SELECT id, site_id, revoked_at IS NOT NULL AS revoked FROM devices WHERE id IN (${inList(ids.length)})`,
        ids,
      );
      return new Map(rows.map((r) => [r.id, { siteId: r.site_id, revoked: Boolean(r.revoked) }]));
    },
    () => this.db.inTransaction(),
  );

  async list(): Promise<DeviceRecord[]> {
    return (
      await this.db.all<DeviceRow>(`SELECT ${COLS} FROM devices WHERE revoked_at IS NULL ORDER BY site_id, id`)
    ).map(toDevice);
  }

  /**
   * Enrolled, not revoked devices by id and site only: for the planners that
   * run every few seconds over the whole fleet (the meetings' edge
   * directory), without reading each box's peripherals and latest telemetry.
   */
  async refs(): Promise<{ id: string; siteId: string }[]> {
    return this.db.all<{ id: string; siteId: string }>(
      'SELECT id, site_id AS "siteId" FROM devices WHERE revoked_at IS NULL ORDER BY site_id, id',
    );
  }

  /** Decommissioned devices: kept so every page can say a site's box was revoked rather than never installed. */
  async listRevoked(): Promise<DeviceRecord[]> {
    return (
      await this.db.all<DeviceRow>(`SELECT ${COLS} FROM devices WHERE revoked_at IS NOT NULL ORDER BY site_id, id`)
    ).map(toDevice);
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const r = await this.db.get<DeviceRow>(`SELECT ${COLS} FROM devices WHERE id = ?`, [id]);
    return r ? toDevice(r) : undefined;
  }

  /** The live (not revoked) device with this serial: a revoked device no longer owns its serial. */
  async liveBySerial(serial: string): Promise<DeviceRecord | undefined> {
    const r = await this.db.get<DeviceRow>(`SELECT ${COLS} FROM devices WHERE serial = ? AND revoked_at IS NULL`, [
      serial,
    ]);
    return r ? toDevice(r) : undefined;
  }

  /**
   * The stored password hash of a device that may connect (not revoked), if any.
   * Look-ups asked for in one turn of the event loop share one query (TurnBatch).
   * Always read from the store, never cached: a revocation on another node
   * counts at once. Inside a transaction, a query of its own.
   */
  credentials(id: string): Promise<string | undefined> {
    // No device id holds U+0000, and on PostgreSQL it would fail the whole batch.
    return id.includes('\u0000') ? Promise.resolve(undefined) : this.credentialsBatch.get(id);
  }

  /**
   * A device's site and whether it is revoked, for the presence tracker meeting
   * a box it has not seen yet; look-ups of one turn share one query
   * (TurnBatch). Inside a transaction, a query of its own.
   */
  siteOf(id: string): Promise<{ siteId: string; revoked: boolean } | undefined> {
    return id.includes('\u0000') ? Promise.resolve(undefined) : this.siteBatch.get(id);
  }

  async insert(d: NewDevice): Promise<void> {
    await this.db.run(
      `INSERT INTO devices (id, site_id, serial, password_hash, model, os, agent_version, enrolled_at, enrol_token_id)
       VALUES (@id, @siteId, @serial, @passwordHash, @model, @os, @agentVersion, @now, @enrolTokenId)`,
      {
        id: d.id,
        siteId: d.siteId,
        serial: d.serial,
        passwordHash: d.passwordHash,
        model: d.model ?? null,
        os: d.os ?? null,
        agentVersion: d.agentVersion ?? null,
        now: new Date().toISOString(),
        enrolTokenId: d.enrolTokenId ?? null,
      },
    );
  }

  /** The enrolment token that enrolled the device, if it was a token. */
  async enrolTokenOf(id: string): Promise<number | null> {
    const r = await this.db.get<{ enrol_token_id: number | null }>('SELECT enrol_token_id FROM devices WHERE id = ?', [
      id,
    ]);
    return r?.enrol_token_id ?? null;
  }

  /**
   * A box re-imaged through a pre-registration keeps its id and gets new
   * credentials. False when the device is not live at that site (then nothing changed).
   * Never moves a device to another site, never brings a revoked one back.
   */
  async reenrol(d: NewDevice): Promise<boolean> {
    const r = await this.db.run(
      `UPDATE devices SET password_hash = @passwordHash, model = @model, os = @os,
         agent_version = COALESCE(@agentVersion, agent_version), enrolled_at = @now, enrol_token_id = @enrolTokenId
       WHERE id = @id AND site_id = @siteId AND revoked_at IS NULL`,
      {
        id: d.id,
        siteId: d.siteId,
        passwordHash: d.passwordHash,
        model: d.model ?? null,
        os: d.os ?? null,
        agentVersion: d.agentVersion ?? null,
        now: new Date().toISOString(),
        enrolTokenId: d.enrolTokenId ?? null,
      },
    );
    return r.changes === 1;
  }

  /**
   * A password hash stored again in another form after a good login. Only if
   * the stored hash is still the one verified and the device not revoked: a
   * re-enrolment meanwhile (new credentials) wins. True when it was replaced.
   */
  async replacePasswordHash(id: string, verified: string, replacement: string): Promise<boolean> {
    const r = await this.db.run(
      'UPDATE devices SET password_hash = ? WHERE id = ? AND password_hash = ? AND revoked_at IS NULL',
      [replacement, id, verified],
    );
    return r.changes === 1;
  }

  async setPresence(id: string, online: boolean, at: string): Promise<void> {
    await this.setPresenceEach([{ id, online, at }]);
  }

  /**
   * Each device's own presence and time, for many devices in one transaction
   * (500 rows a statement): a storm's thousands of single changes in a few
   * commits instead of one each.
   */
  async setPresenceEach(rows: ReadonlyArray<{ id: string; online: boolean; at: string }>): Promise<void> {
    if (rows.length === 0) return;
    // Locked in id order in PostgreSQL, as setPresenceMany explains.
    const sorted = [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const row = '(CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS TEXT))';
    await this.db.tx(async () => {
      for (let i = 0; i < sorted.length; i += 500) {
        const chunk = sorted.slice(i, i + 500);
        if (this.db.dialect === 'postgres')
          await this.db.all(
            `SELECT id FROM devices WHERE id IN (${chunk.map(() => '?').join(', ')}) ORDER BY id COLLATE "C" FOR UPDATE`,
            chunk.map((r) => r.id),
          );
        // VALUES names its columns column1…column3 in both engines: id, online, at.
        await this.db.run(
          `UPDATE devices SET online = v.column2, presence_at = v.column3, last_seen_at = v.column3
           FROM (VALUES ${chunk.map(() => row).join(', ')}) AS v
           WHERE devices.id = v.column1`,
          chunk.flatMap((r) => [r.id, r.online ? 1 : 0, r.at]),
        );
      }
    });
  }

  /**
   * Records a birth. Births of one turn go in together (TurnWrites): a node
   * taking thousands of boxes at once wrote each in its own statement. Not
   * inside a transaction.
   */
  setBirth(id: string, b: Birth): Promise<void> {
    return this.births.put(id, b);
  }

  /**
   * Matches only the devices where something changed: a box's births are
   * mostly the same as its last, and on PostgreSQL an update that writes
   * nothing commits without waiting for the disk. On PostgreSQL the changed rows are locked
   * in id order first (as every writer of many device rows does, see
   * TelemetryRepo.insertBatch).
   */
  private async setBirths(entries: Array<[string, Birth]>): Promise<void> {
    const sql = (
      rows: Array<[string, Birth]>,
    ): { values: string; changed: string; update: string; params: Array<string | null> } => {
      const row = '(CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT))';
      const params: Array<string | null> = [];
      for (const [id, b] of rows)
        params.push(
          id,
          text(b.agentVersion),
          text(b.os),
          text(b.hardware),
          b.peripherals ? JSON.stringify(b.peripherals) : null,
        );
      // VALUES names its columns column1…column5 in both engines: id, agent_version, os, hardware, peripherals.
      const values = `(VALUES ${rows.map(() => row).join(', ')}) AS v`;
      const changed = `devices.id = v.column1 AND (agent_version IS DISTINCT FROM COALESCE(v.column2, agent_version)
        OR os IS DISTINCT FROM COALESCE(v.column3, os) OR hardware IS DISTINCT FROM COALESCE(v.column4, hardware)
        OR peripherals IS DISTINCT FROM COALESCE(v.column5, peripherals))`;
      const update = `UPDATE devices SET agent_version = COALESCE(v.column2, agent_version), os = COALESCE(v.column3, os),
          hardware = COALESCE(v.column4, hardware), peripherals = COALESCE(v.column5, peripherals)
        FROM ${values} WHERE ${changed}`;
      return { values, changed, update, params };
    };
    const all = sql(entries);
    if (this.db.dialect !== 'postgres') {
      await this.db.run(all.update, all.params);
      return;
    }
    // Most batches change nothing: one read says so, without a transaction.
    const differ = await this.db.all<{ id: string }>(
      `SELECT devices.id FROM devices, ${all.values} WHERE ${all.changed}`,
      all.params,
    );
    if (differ.length === 0) return;
    await this.db.tx(async () => {
      const locked = await this.db.all<{ id: string }>(
        `SELECT devices.id FROM devices, ${all.values} WHERE ${all.changed} ORDER BY devices.id COLLATE "C" FOR UPDATE OF devices`,
        all.params,
      );
      // Only the rows locked above, in their order: another row that changed meanwhile waits for the next birth.
      const ids = new Set(locked.map((r) => r.id));
      const mine = entries.filter(([id]) => ids.has(id));
      if (mine.length === 0) return;
      const some = sql(mine);
      await this.db.run(some.update, some.params);
    });
  }

  async touch(id: string, at: string): Promise<void> {
    await this.db.run('UPDATE devices SET last_seen_at = ? WHERE id = ?', [at, id]);
  }

  /**
   * Every device's presence as the registry holds it, revoked ones left out:
   * what a new leader takes over (it corrects only what differs).
   */
  async presence(): Promise<DevicePresence[]> {
    const rows = await this.db.all<{ id: string; online: number; presence_at: string | null }>(
      'SELECT id, online, presence_at FROM devices WHERE revoked_at IS NULL ORDER BY id',
    );
    return rows.map((r) => ({ id: r.id, online: r.online === 1, presenceAt: r.presence_at }));
  }

  /**
   * Marks many devices online or offline at once (one transaction, 500 rows
   * a statement). With at null only the flag changes: a correction, not a
   * change of presence the leader decided at a time.
   */
  async setPresenceMany(ids: readonly string[], online: boolean, at: string | null): Promise<void> {
    if (ids.length === 0) return;
    // In PostgreSQL the rows are locked first, in id order, the order a telemetry batch takes
    // them in (telemetry-repo.ts): a plain UPDATE locks in the table's physical order, and a
    // new leader's presence writes deadlocked with the nodes' batches at 10,000 boxes.
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    await this.db.tx(async () => {
      for (let i = 0; i < sorted.length; i += 500) {
        const chunk = sorted.slice(i, i + 500);
        const list = chunk.map(() => '?').join(', ');
        if (this.db.dialect === 'postgres')
          await this.db.all(`SELECT id FROM devices WHERE id IN (${list}) ORDER BY id COLLATE "C" FOR UPDATE`, chunk);
        await this.db.run(
          at === null
            ? `UPDATE devices SET online = ? WHERE id IN (${list})`
            : `UPDATE devices SET online = ?, presence_at = ?, last_seen_at = ? WHERE id IN (${list})`,
          at === null ? [online ? 1 : 0, ...chunk] : [online ? 1 : 0, at, at, ...chunk],
        );
      }
    });
  }

  async revoke(id: string): Promise<boolean> {
    return (
      (
        await this.db.run('UPDATE devices SET revoked_at = ?, online = 0 WHERE id = ? AND revoked_at IS NULL', [
          new Date().toISOString(),
          id,
        ])
      ).changes === 1
    );
  }
}
