// The OTA tables: releases (the signed manifest; the artifact itself is a
// file in the data dir), rollouts with their spec and state, each device's
// place in a rollout, and the last OTA status every device reported.
// Registered through FleetDb.migrate(); every table is prefixed `ota_`.
import type { FleetDb } from '../db/database.js';
import type { OsStatus, OtaStatus, ReleaseManifest, SignedManifest } from '@diemcau/shared';
import type { Migration } from '../db/migrations.js';
import type { RolloutDevice, RolloutSpec, RolloutState } from './rollout-model.js';

export const OTA_MIGRATIONS: Migration[] = [
  {
    name: 'ota-001',
    sql: `
      CREATE TABLE ota_releases (
        version TEXT PRIMARY KEY,
        signed TEXT NOT NULL,
        manifest TEXT NOT NULL,
        artifact_ready INTEGER NOT NULL DEFAULT 0,
        uploaded_at TEXT NOT NULL,
        uploaded_by TEXT
      );
      CREATE TABLE ota_rollouts (
        id TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE ota_rollout_devices (
        rollout_id TEXT NOT NULL REFERENCES ota_rollouts(id) ON DELETE CASCADE,
        device_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        ring INTEGER NOT NULL,
        state TEXT NOT NULL,
        dispatched_at INTEGER,
        last_report_at INTEGER,
        reason TEXT,
        PRIMARY KEY (rollout_id, device_id)
      ) WITHOUT ROWID;
      CREATE INDEX ota_rollout_devices_device ON ota_rollout_devices(device_id);
      CREATE TABLE ota_device_status (
        device_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        cache_url TEXT,
        received_at TEXT NOT NULL
      );
    `,
  },
  {
    // The last operating system update report of every device (os-update.ts in shared).
    name: 'ota-002-os-status',
    sql: `
      CREATE TABLE ota_os_status (
        device_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
    `,
  },
];

export interface ReleaseRecord {
  version: string;
  signed: SignedManifest;
  manifest: ReleaseManifest;
  artifactReady: boolean;
  uploadedAt: string;
  uploadedBy: string | null;
}

export interface RolloutRecord {
  id: string;
  spec: RolloutSpec;
  state: RolloutState;
  reason: string | null;
  createdAt: string;
  createdBy: string | null;
  updatedAt: string;
}

interface ReleaseRow {
  version: string;
  signed: string;
  manifest: string;
  artifact_ready: number;
  uploaded_at: string;
  uploaded_by: string | null;
}
interface RolloutRow {
  id: string;
  spec: string;
  state: string;
  reason: string | null;
  created_at: string;
  created_by: string | null;
  updated_at: string;
}
interface DeviceRow {
  device_id: string;
  site_id: string;
  ring: number;
  state: string;
  dispatched_at: number | null;
  last_report_at: number | null;
  reason: string | null;
}

const release = (r: ReleaseRow): ReleaseRecord => ({
  version: r.version,
  signed: JSON.parse(r.signed) as SignedManifest,
  manifest: JSON.parse(r.manifest) as ReleaseManifest,
  artifactReady: r.artifact_ready === 1,
  uploadedAt: r.uploaded_at,
  uploadedBy: r.uploaded_by,
});
const rollout = (r: RolloutRow): RolloutRecord => ({
  id: r.id,
  spec: JSON.parse(r.spec) as RolloutSpec,
  state: r.state as RolloutState,
  reason: r.reason,
  createdAt: r.created_at,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
});
const device = (r: DeviceRow): RolloutDevice => ({
  deviceId: r.device_id,
  siteId: r.site_id,
  ring: r.ring,
  state: r.state as RolloutDevice['state'],
  dispatchedAt: r.dispatched_at,
  lastReportAt: r.last_report_at,
  reason: r.reason,
});

export class OtaRepo {
  constructor(private readonly db: FleetDb) {}

  async putRelease(r: Omit<ReleaseRecord, 'artifactReady'>): Promise<void> {
    await this.db.run(
      `INSERT INTO ota_releases (version, signed, manifest, artifact_ready, uploaded_at, uploaded_by) VALUES (?, ?, ?, 0, ?, ?)
       ON CONFLICT(version) DO NOTHING`,
      [r.version, JSON.stringify(r.signed), JSON.stringify(r.manifest), r.uploadedAt, r.uploadedBy],
    );
  }

  async markArtifactReady(version: string): Promise<void> {
    await this.db.run('UPDATE ota_releases SET artifact_ready = 1 WHERE version = ?', [version]);
  }

  async release(version: string): Promise<ReleaseRecord | undefined> {
    const r = await this.db.get<ReleaseRow>('SELECT * FROM ota_releases WHERE version = ?', [version]);
    return r ? release(r) : undefined;
  }

  async releases(): Promise<ReleaseRecord[]> {
    return (await this.db.all<ReleaseRow>('SELECT * FROM ota_releases ORDER BY uploaded_at DESC')).map(release);
  }

  createRollout(r: RolloutRecord, devices: readonly RolloutDevice[]): Promise<void> {
    return this.db.tx(async () => {
      await this.db.run(
        'INSERT INTO ota_rollouts (id, spec, state, reason, created_at, created_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [r.id, JSON.stringify(r.spec), r.state, r.reason, r.createdAt, r.createdBy, r.updatedAt],
      );
      for (const d of devices) {
        await this.db.run(
          'INSERT INTO ota_rollout_devices (rollout_id, device_id, site_id, ring, state, dispatched_at, last_report_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          [r.id, d.deviceId, d.siteId, d.ring, d.state, d.dispatchedAt, d.lastReportAt, d.reason],
        );
      }
    });
  }

  async rollout(id: string): Promise<RolloutRecord | undefined> {
    const r = await this.db.get<RolloutRow>('SELECT * FROM ota_rollouts WHERE id = ?', [id]);
    return r ? rollout(r) : undefined;
  }

  async rollouts(): Promise<RolloutRecord[]> {
    return (await this.db.all<RolloutRow>('SELECT * FROM ota_rollouts ORDER BY created_at DESC')).map(rollout);
  }

  async activeRollouts(): Promise<RolloutRecord[]> {
    return (
      await this.db.all<RolloutRow>(
        "SELECT * FROM ota_rollouts WHERE state IN ('running', 'paused') ORDER BY created_at",
      )
    ).map(rollout);
  }

  async setRolloutState(id: string, state: RolloutState, reason: string | null, at: string): Promise<void> {
    await this.db.run('UPDATE ota_rollouts SET state = ?, reason = ?, updated_at = ? WHERE id = ?', [
      state,
      reason,
      at,
      id,
    ]);
  }

  async devices(rolloutId: string): Promise<RolloutDevice[]> {
    return (
      await this.db.all<DeviceRow>(
        'SELECT * FROM ota_rollout_devices WHERE rollout_id = ? ORDER BY ring, site_id, device_id',
        [rolloutId],
      )
    ).map(device);
  }

  async updateDevice(
    rolloutId: string,
    d: Pick<RolloutDevice, 'deviceId' | 'state' | 'dispatchedAt' | 'lastReportAt' | 'reason'>,
  ): Promise<void> {
    await this.db.run(
      'UPDATE ota_rollout_devices SET state = ?, dispatched_at = ?, last_report_at = ?, reason = ? WHERE rollout_id = ? AND device_id = ?',
      [d.state, d.dispatchedAt, d.lastReportAt, d.reason, rolloutId, d.deviceId],
    );
  }

  async putStatus(deviceId: string, status: OtaStatus, receivedAt: string): Promise<void> {
    await this.db.run(
      `INSERT INTO ota_device_status (device_id, status, cache_url, received_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(device_id) DO UPDATE SET status = excluded.status, cache_url = COALESCE(excluded.cache_url, ota_device_status.cache_url), received_at = excluded.received_at`,
      [deviceId, JSON.stringify(status), status.cacheUrl ?? null, receivedAt],
    );
  }

  async status(deviceId: string): Promise<OtaStatus | undefined> {
    const r = await this.db.get<{ status: string }>('SELECT status FROM ota_device_status WHERE device_id = ?', [
      deviceId,
    ]);
    return r ? (JSON.parse(r.status) as OtaStatus) : undefined;
  }

  async putOsStatus(deviceId: string, status: OsStatus, receivedAt: string): Promise<void> {
    await this.db.run(
      `INSERT INTO ota_os_status (device_id, status, received_at) VALUES (?, ?, ?)
       ON CONFLICT(device_id) DO UPDATE SET status = excluded.status, received_at = excluded.received_at`,
      [deviceId, JSON.stringify(status), receivedAt],
    );
  }

  async osStatus(deviceId: string): Promise<OsStatus | undefined> {
    const r = await this.db.get<{ status: string }>('SELECT status FROM ota_os_status WHERE device_id = ?', [deviceId]);
    return r ? (JSON.parse(r.status) as OsStatus) : undefined;
  }

  /** Device id → the OS snapshot it last applied, for every device that reported one. */
  async osSnapshots(): Promise<Map<string, string>> {
    const rows = await this.db.all<{ device_id: string; status: string }>(
      'SELECT device_id, status FROM ota_os_status',
    );
    const out = new Map<string, string>();
    for (const r of rows) {
      const s = JSON.parse(r.status) as OsStatus;
      if (s.current) out.set(r.device_id, s.current);
    }
    return out;
  }

  /** Device id → cache base URL, for district boxes that run one. */
  async cacheUrls(): Promise<Map<string, string>> {
    const rows = await this.db.all<{ device_id: string; cache_url: string }>(
      'SELECT device_id, cache_url FROM ota_device_status WHERE cache_url IS NOT NULL',
    );
    return new Map(rows.map((r) => [r.device_id, r.cache_url]));
  }
}
