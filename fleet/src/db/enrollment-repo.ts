import type { FleetDb } from './database.js';
import { tokenHash } from './secrets.js';

export interface EnrollmentTokenRecord {
  id: number;
  siteId: string;
  usesLeft: number;
  expiresAt: string;
  createdAt: string;
  createdBy: string | null;
}

export interface SerialRecord {
  serial: string;
  siteId: string;
  note: string | null;
  /** The device a box enrolled as by this pre-registration (the last one, if re-armed). */
  deviceId: string | null;
  /** When a box enrolled by it; null while armed (waiting for a box). */
  usedAt: string | null;
  /** Until when it may be used; null: no limit (registered before limits existed). */
  armedUntil: string | null;
}

interface SerialRow {
  serial: string;
  site_id: string;
  note: string | null;
  device_id: string | null;
  used_at: string | null;
  armed_until: string | null;
}

const toSerial = (r: SerialRow): SerialRecord => ({
  serial: r.serial,
  siteId: r.site_id,
  note: r.note,
  deviceId: r.device_id,
  usedAt: r.used_at,
  armedUntil: r.armed_until,
});

/** Whether a pre-registration still lets a box enrol: unused and not past its time. */
export const isArmed = (r: SerialRecord, now = new Date()): boolean =>
  r.usedAt === null && (r.armedUntil === null || Date.parse(r.armedUntil) > now.getTime());

interface TokenRow {
  id: number;
  site_id: string;
  uses_left: number;
  expires_at: string;
  created_at: string;
  created_by: string | null;
}

const SERIAL_COLS = 'serial, site_id, note, device_id, used_at, armed_until';

/** Enrolment tokens (stored as hashes, counted, expiring) and pre-registered serials. */
export class EnrollmentRepo {
  constructor(private readonly db: FleetDb) {}

  async createToken(
    siteId: string,
    token: string,
    uses: number,
    expiresAt: Date,
    createdBy: string | null,
  ): Promise<void> {
    await this.db.run(
      `INSERT INTO enrollment_tokens (site_id, token_hash, uses_left, expires_at, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
      [siteId, tokenHash(token), uses, expiresAt.toISOString(), new Date().toISOString(), createdBy],
    );
  }

  private findToken(token: string): Promise<TokenRow | undefined> {
    return this.db.get<TokenRow>(
      'SELECT id, site_id, uses_left, expires_at, created_at, created_by FROM enrollment_tokens WHERE token_hash = ?',
      [tokenHash(token)],
    );
  }

  /**
   * Spends one use of a token, atomically; returns its site, or undefined when
   * the token is unknown, used up or expired (callers cannot tell which: an
   * attacker learns nothing).
   */
  consumeToken(token: string, now = new Date()): Promise<EnrollmentTokenRecord | undefined> {
    return this.db.tx(async () => {
      const r = await this.findToken(token);
      if (!r || r.uses_left <= 0 || Date.parse(r.expires_at) <= now.getTime()) return undefined;
      // Only a token with a use left is spent, so two enrolments racing on its last use cannot both succeed.
      const spent = await this.db.run(
        'UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0',
        [r.id],
      );
      if (spent.changes !== 1) return undefined;
      return {
        id: r.id,
        siteId: r.site_id,
        usesLeft: r.uses_left - 1,
        expiresAt: r.expires_at,
        createdAt: r.created_at,
        createdBy: r.created_by,
      };
    });
  }

  /**
   * The token's record if it would enrol now, without spending it: enrolment
   * decides before it pays for a password hash, then spends the token in the
   * same transaction that writes the device (a refusal leaves it unspent).
   */
  async peekToken(token: string, now = new Date()): Promise<EnrollmentTokenRecord | undefined> {
    const r = await this.findToken(token);
    if (!r || r.uses_left <= 0 || Date.parse(r.expires_at) <= now.getTime()) return undefined;
    return {
      id: r.id,
      siteId: r.site_id,
      usesLeft: r.uses_left,
      expiresAt: r.expires_at,
      createdAt: r.created_at,
      createdBy: r.created_by,
    };
  }

  /**
   * A real token whose uses are all taken but which has not expired: its site,
   * else undefined. Enrolment lets it retry for the box whose answer was lost
   * (devices/enrol-plan.ts); it never enrols anything new.
   */
  async spentToken(token: string, now = new Date()): Promise<{ id: number; siteId: string } | undefined> {
    const r = await this.findToken(token);
    if (!r || r.uses_left > 0 || Date.parse(r.expires_at) <= now.getTime()) return undefined;
    return { id: r.id, siteId: r.site_id };
  }

  /** Drops spent and expired tokens; returns how many. */
  async purge(now = new Date()): Promise<number> {
    return (
      await this.db.run('DELETE FROM enrollment_tokens WHERE expires_at < ? OR uses_left <= 0', [now.toISOString()])
    ).changes;
  }

  /** Lists (or re-arms) a serial; callers pass it canonical (devices/serial.ts). Registering again re-arms: one more box may enrol by it. */
  async registerSerial(
    serial: string,
    siteId: string,
    note: string | null = null,
    armedUntil: Date | null = null,
  ): Promise<void> {
    await this.db.run(
      `INSERT INTO device_serials (serial, site_id, note, created_at, armed_until) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(serial) DO UPDATE SET site_id = excluded.site_id, note = excluded.note, used_at = NULL, armed_until = excluded.armed_until`,
      [serial, siteId, note, new Date().toISOString(), armedUntil?.toISOString() ?? null],
    );
  }

  async getSerial(serial: string): Promise<SerialRecord | undefined> {
    const r = await this.db.get<SerialRow>(`SELECT ${SERIAL_COLS} FROM device_serials WHERE serial = ?`, [serial]);
    return r ? toSerial(r) : undefined;
  }

  async listSerials(): Promise<SerialRecord[]> {
    return (await this.db.all<SerialRow>(`SELECT ${SERIAL_COLS} FROM device_serials ORDER BY serial`)).map(toSerial);
  }

  /**
   * Spends an armed pre-registration on the device that enrolled by it; false when it was not armed.
   * Only an armed row is spent, so two enrolments racing on one arming cannot both succeed.
   */
  async spendSerial(serial: string, deviceId: string, now = new Date()): Promise<boolean> {
    const r = await this.db.run(
      'UPDATE device_serials SET device_id = ?, used_at = ? WHERE serial = ? AND used_at IS NULL',
      [deviceId, now.toISOString(), serial],
    );
    return r.changes === 1;
  }

  /** Forgets a pre-registration; an already enrolled box keeps working. True when it existed. */
  async unregisterSerial(serial: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM device_serials WHERE serial = ?', [serial])).changes === 1;
  }
}
