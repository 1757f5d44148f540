import type { Peripherals, Telemetry } from '@diemcau/shared';
import type { FleetDb } from './database.js';

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

export class DevicesRepo {
  private readonly stmts;

  constructor(db: FleetDb) {
    const s = db.sql;
    this.stmts = {
      all: s.prepare(`SELECT ${COLS} FROM devices WHERE revoked_at IS NULL ORDER BY site_id, id`),
      revoked: s.prepare(`SELECT ${COLS} FROM devices WHERE revoked_at IS NOT NULL ORDER BY site_id, id`),
      get: s.prepare(`SELECT ${COLS} FROM devices WHERE id = ?`),
      liveBySerial: s.prepare(`SELECT ${COLS} FROM devices WHERE serial = ? AND revoked_at IS NULL`),
      passwordHash: s.prepare('SELECT password_hash, revoked_at FROM devices WHERE id = ?'),
      insert: s.prepare(`INSERT INTO devices (id, site_id, serial, password_hash, model, os, agent_version, enrolled_at, enrol_token_id)
        VALUES (@id, @siteId, @serial, @passwordHash, @model, @os, @agentVersion, @now, @enrolTokenId)`),
      enrolToken: s.prepare('SELECT enrol_token_id FROM devices WHERE id = ?'),
      // Never moves a device to another site, never brings a revoked one back.
      reenrol: s.prepare(`UPDATE devices SET password_hash = @passwordHash, model = @model, os = @os,
        agent_version = COALESCE(@agentVersion, agent_version), enrolled_at = @now, enrol_token_id = @enrolTokenId
        WHERE id = @id AND site_id = @siteId AND revoked_at IS NULL`),
      presence: s.prepare('UPDATE devices SET online = ?, presence_at = ?, last_seen_at = ? WHERE id = ?'),
      birth: s.prepare(`UPDATE devices SET agent_version = COALESCE(@agentVersion, agent_version), os = COALESCE(@os, os),
        hardware = COALESCE(@hardware, hardware), peripherals = COALESCE(@peripherals, peripherals) WHERE id = @id`),
      seen: s.prepare('UPDATE devices SET last_seen_at = ? WHERE id = ?'),
      allOffline: s.prepare('UPDATE devices SET online = 0 WHERE online = 1'),
      onlineIds: s.prepare('SELECT id FROM devices WHERE online = 1 AND revoked_at IS NULL'),
      revoke: s.prepare('UPDATE devices SET revoked_at = ?, online = 0 WHERE id = ? AND revoked_at IS NULL'),
    };
  }

  list(): DeviceRecord[] {
    return (this.stmts.all.all() as DeviceRow[]).map(toDevice);
  }

  /** Decommissioned devices: kept so every page can say a site's box was revoked rather than never installed. */
  listRevoked(): DeviceRecord[] {
    return (this.stmts.revoked.all() as DeviceRow[]).map(toDevice);
  }

  get(id: string): DeviceRecord | undefined {
    const r = this.stmts.get.get(id) as DeviceRow | undefined;
    return r ? toDevice(r) : undefined;
  }

  /** The live (not revoked) device with this serial: a revoked device no longer owns its serial. */
  liveBySerial(serial: string): DeviceRecord | undefined {
    const r = this.stmts.liveBySerial.get(serial) as DeviceRow | undefined;
    return r ? toDevice(r) : undefined;
  }

  /** The stored scrypt hash of a device that may connect (not revoked), if any. */
  credentials(id: string): string | undefined {
    const r = this.stmts.passwordHash.get(id) as { password_hash: string; revoked_at: string | null } | undefined;
    return r && r.revoked_at === null ? r.password_hash : undefined;
  }

  insert(d: NewDevice): void {
    this.stmts.insert.run({
      id: d.id,
      siteId: d.siteId,
      serial: d.serial,
      passwordHash: d.passwordHash,
      model: d.model ?? null,
      os: d.os ?? null,
      agentVersion: d.agentVersion ?? null,
      now: new Date().toISOString(),
      enrolTokenId: d.enrolTokenId ?? null,
    });
  }

  /** The enrolment token that enrolled the device, if it was a token. */
  enrolTokenOf(id: string): number | null {
    const r = this.stmts.enrolToken.get(id) as { enrol_token_id: number | null } | undefined;
    return r?.enrol_token_id ?? null;
  }

  /**
   * A box re-imaged through a pre-registration keeps its id and gets new
   * credentials. False when the device is not live at that site (then nothing changed).
   */
  reenrol(d: NewDevice): boolean {
    return this.stmts.reenrol.run({
      id: d.id,
      siteId: d.siteId,
      passwordHash: d.passwordHash,
      model: d.model ?? null,
      os: d.os ?? null,
      agentVersion: d.agentVersion ?? null,
      now: new Date().toISOString(),
      enrolTokenId: d.enrolTokenId ?? null,
    }).changes === 1;
  }

  setPresence(id: string, online: boolean, at: string): void {
    this.stmts.presence.run(online ? 1 : 0, at, at, id);
  }

  setBirth(id: string, b: { agentVersion?: string | undefined; os?: string | undefined; hardware?: string | undefined; peripherals?: Peripherals | undefined }): void {
    this.stmts.birth.run({
      id,
      agentVersion: b.agentVersion ?? null,
      os: b.os ?? null,
      hardware: b.hardware ?? null,
      peripherals: b.peripherals ? JSON.stringify(b.peripherals) : null,
    });
  }

  touch(id: string, at: string): void {
    this.stmts.seen.run(at, id);
  }

  /** Ids that were online when the fleet last stopped; then all marked offline. */
  resetPresence(): string[] {
    const ids = (this.stmts.onlineIds.all() as { id: string }[]).map((r) => r.id);
    this.stmts.allOffline.run();
    return ids;
  }

  revoke(id: string): boolean {
    return this.stmts.revoke.run(new Date().toISOString(), id).changes === 1;
  }
}
