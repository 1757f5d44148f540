// Runs rollouts: on a timer and after every report it asks the pure planner
// what to do, then carries the plan out through the driver and records it.
// Ticks never overlap; a driver error leaves the device pending for the next.
import { randomUUID } from 'node:crypto';
import { isNotLeader, UNFENCED, type Fence } from '../cluster/leadership.js';
import type { Logger } from 'pino';
import {
  DiemcauError,
  compareVersions,
  downgradeRefusal,
  indexSites,
  type OsStatus,
  type OtaStatus,
  type Site,
  type SiteIndex,
} from '@diemcau/shared';
import type { RolloutDriver, DeviceReport } from './driver.js';
import type { DeviceRef } from '../devices/device-ref.js';
import { assignRings, planRollout, ringProgress } from './rollout-planner.js';
import { rolloutTarget, type RingProgress, type RolloutDevice, type RolloutSpec } from './rollout-model.js';
import type { ReleaseService } from './releases.js';
import type { OtaRepo, RolloutRecord } from './repo.js';
import { mixedMeetingWarnings, type CompatMeeting } from './media-compat.js';

export interface RolloutPorts {
  sites(): readonly Site[];
  /** The hierarchy with the dataset's relay groups; absent: indexed from sites() (relay groups derived). */
  siteIndex?(): SiteIndex;
  /** Enrolled, not revoked devices, with the agent version they last announced. */
  devices(): Promise<readonly (DeviceRef & { agentVersion: string | null })[]>;
  /** Sites with a meeting live now or starting within `withinMin` minutes. */
  busySites(siteIds: readonly string[], withinMin: number): Promise<ReadonlySet<string>>;
  /** Meetings live or scheduled ahead (the media-link check); absent: not checked. */
  meetings?(): Promise<readonly CompatMeeting[]>;
}

export interface RolloutServiceOptions {
  store: OtaRepo;
  releases: ReleaseService;
  driver: RolloutDriver;
  ports: RolloutPorts;
  log: Logger;
  /** In a cluster, only the leader drives rollouts; a follower's ticks do nothing (the leader's timer picks its changes up). */
  isLeader?: () => boolean;
  /** The leader's fence around each step the planner takes (cluster/leadership.ts): a leader that lost the lead takes none. */
  fence?: Fence;
  /** 0 = no timer (tests call tick()). */
  tickMs?: number;
  /** Something about the rollouts changed (the dashboards reload); called at most once a second. */
  onChange?: () => void;
  now?: () => number;
}

export interface RolloutView extends RolloutRecord {
  rings: RingProgress[];
  currentRing: number | null;
  skippedBusy: string[];
  devices?: RolloutDevice[];
  /** At creation only: meetings whose edges the rollout would leave unable to link (see media-compat.ts). */
  warnings?: string[];
}

export class RolloutService {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private changeTimer: NodeJS.Timeout | null = null;
  /** Last plan's facts per rollout, for the API (not worth a table). */
  private readonly last = new Map<string, { currentRing: number | null; skippedBusy: string[] }>();
  readonly counters = { dispatched: 0, dispatchErrors: 0, reports: 0, unmatchedReports: 0 };

  constructor(private readonly o: RolloutServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (this.o.tickMs && !this.timer) {
      this.timer = setInterval(() => void this.tick(), this.o.tickMs);
      this.timer.unref();
    }
  }

  /**
   * Operators' changes, devices' reports and planning rounds take turns:
   * each reads the rollout, decides and writes, and none sees another's
   * half-written state.
   */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const out = this.chain.then(fn);
    this.chain = out.then(
      () => undefined,
      () => undefined,
    );
    return out;
  }

  create(spec: RolloutSpec, by: string | null): Promise<RolloutView> {
    return this.serial(() => this.createNow(spec, by));
  }

  private async createNow(spec: RolloutSpec, by: string | null): Promise<RolloutView> {
    if ((spec.release === undefined) === (spec.os === undefined))
      throw new DiemcauError('FLEET_ERR_BAD_REQUEST', 'a rollout names either a release or an OS snapshot (os)');
    if (spec.os) return this.createOsNow(spec, spec.os.snapshot, by);
    return this.createReleaseNow(spec, spec.release!, by);
  }

  /**
   * An OS rollout: the same rings, windows, meeting holds and abort criteria
   * as a release, towards a mirror snapshot. A box that reported this
   * snapshot applied already has nothing to do. No downgrade check: apt never
   * installs an older version than a box has (see README, what is not rolled back).
   */
  private async createOsNow(spec: RolloutSpec, snapshot: string, by: string | null): Promise<RolloutView> {
    if (!this.o.driver.dispatchOs)
      throw new DiemcauError(
        'FLEET_ERR_BAD_REQUEST',
        `the ${this.o.driver.name} driver does not roll out OS snapshots (its host OS updates its own way)`,
      );
    await this.checkStart(spec);
    const index = this.o.ports.siteIndex?.() ?? indexSites(this.o.ports.sites());
    const applied = await this.o.store.osSnapshots();
    const devices = assignRings(spec, index, await this.o.ports.devices()).map((d) =>
      applied.get(d.deviceId) === snapshot
        ? { ...d, state: 'succeeded' as const, reason: 'already on the snapshot' }
        : d,
    );
    if (devices.length === 0) throw new DiemcauError('FLEET_ERR_NO_TARGETS', 'no device in the rollout');
    const record = await this.record(spec, by, devices);
    this.o.log.info({ rollout: record.id, os: snapshot, devices: devices.length }, 'OS rollout created');
    void this.tick();
    return this.view(record.id);
  }

  /** What every rollout checks before it starts: one at a time, and sites that exist. */
  private async checkStart(spec: RolloutSpec): Promise<void> {
    const active = await this.o.store.activeRollouts();
    if (active.length > 0)
      throw new DiemcauError('FLEET_ERR_CONFLICT', `rollout ${active[0]!.id} is still ${active[0]!.state}`);
    const index = this.o.ports.siteIndex?.() ?? indexSites(this.o.ports.sites());
    if (spec.rootSiteId && !index.byId.has(spec.rootSiteId))
      throw new DiemcauError('FLEET_ERR_UNKNOWN_SITE', spec.rootSiteId);
    for (const r of spec.rings) {
      const ids =
        r.select.kind === 'sites'
          ? r.select.siteIds
          : r.select.kind === 'district'
            ? [r.select.districtId]
            : r.select.kind === 'subtree'
              ? [r.select.siteId]
              : [];
      for (const id of ids)
        if (!index.byId.has(id)) throw new DiemcauError('FLEET_ERR_UNKNOWN_SITE', `${id} (ring ${r.name})`);
      if (
        r.select.kind === 'relay-group' &&
        !index.relayGroups.some((g) => g.id === (r.select as { groupId: string }).groupId)
      ) {
        throw new DiemcauError('FLEET_ERR_BAD_REQUEST', `ring ${r.name}: no relay group ${r.select.groupId}`);
      }
    }
  }

  private async record(spec: RolloutSpec, by: string | null, devices: RolloutDevice[]): Promise<RolloutRecord> {
    const at = new Date(this.now()).toISOString();
    const record: RolloutRecord = {
      id: randomUUID(),
      spec,
      state: 'running',
      reason: null,
      createdAt: at,
      createdBy: by,
      updatedAt: at,
    };
    await this.o.store.createRollout(record, devices);
    this.changed();
    return record;
  }

  private async createReleaseNow(spec: RolloutSpec, version: string, by: string | null): Promise<RolloutView> {
    const release = await this.o.releases.ready(version);
    // The release manager's signed rollback away from a version withdraws it; boxes refuse it again anyway.
    const withdrawnBy = (await this.o.store.releases()).find((r) =>
      r.manifest.allowDowngradeFrom?.some((v) => compareVersions(v, version) === 0),
    );
    if (withdrawnBy) {
      throw new DiemcauError(
        'FLEET_ERR_CONFLICT',
        `release ${version} was withdrawn by the signed rollback ${withdrawnBy.version}; publish a newer release`,
      );
    }
    await this.checkStart(spec);
    const index = this.o.ports.siteIndex?.() ?? indexSites(this.o.ports.sites());
    const all = await this.o.ports.devices();
    const versions = new Map(all.map((d) => [d.deviceId, d.agentVersion]));
    const devices = assignRings(spec, index, all).map((d) => {
      const current = versions.get(d.deviceId) ?? null;
      // A box already on the release has nothing to do.
      if (current === version) return { ...d, state: 'succeeded' as const, reason: 'already on the release' };
      // A box on a newer version is never told to go back (the box refuses it too).
      const refusal = downgradeRefusal(release.manifest, current);
      return refusal ? { ...d, state: 'skipped' as const, reason: refusal } : d;
    });
    if (devices.length === 0) throw new DiemcauError('FLEET_ERR_NO_TARGETS', 'no device in the rollout');
    const skipped = devices.filter((d) => d.state === 'skipped');
    if (skipped.length > 0 && devices.every((d) => d.state !== 'pending')) {
      throw new DiemcauError(
        'FLEET_ERR_RELEASE_DOWNGRADE',
        `every box to update runs a newer version: ${skipped[0]!.reason}${skipped.length > 1 ? ` (and ${skipped.length - 1} more)` : ''}`,
      );
    }
    const record = await this.record(spec, by, devices);
    this.o.log.info(
      { rollout: record.id, release: version, devices: devices.length, skippedNewer: skipped.length },
      'rollout created',
    );
    const warnings = this.o.ports.meetings
      ? mixedMeetingWarnings({
          release: release.manifest,
          ringNames: spec.rings.map((r) => r.name),
          devices: devices.map((d) => ({
            siteId: d.siteId,
            ring: d.ring,
            state: d.state,
            current: versions.get(d.deviceId) ?? null,
          })),
          manifests: new Map((await this.o.store.releases()).map((r) => [r.version, r.manifest])),
          sitesCurrent: new Map(all.map((d) => [d.siteId, d.agentVersion])),
          meetings: await this.o.ports.meetings(),
        })
      : [];
    for (const w of warnings) this.o.log.warn({ rollout: record.id }, w);
    void this.tick();
    return { ...(await this.view(record.id)), ...(warnings.length > 0 ? { warnings } : {}) };
  }

  pause(id: string): Promise<RolloutView> {
    return this.serial(() => this.transition(id, ['running'], 'paused', 'paused by an operator'));
  }

  async resume(id: string): Promise<RolloutView> {
    const v = await this.serial(() => this.transition(id, ['paused'], 'running', null));
    void this.tick();
    return v;
  }

  async abort(id: string, reason: string): Promise<RolloutView> {
    const v = await this.serial(() => this.transition(id, ['running', 'paused'], 'aborted', reason));
    void this.serial(() => this.withdraw(id));
    return v;
  }

  /** After an abort: devices told to update that have not finished are told to stop. */
  private async withdraw(id: string): Promise<void> {
    const os = (await this.o.store.rollout(id))?.spec.os !== undefined;
    const cancel = os ? this.o.driver.cancelOs?.bind(this.o.driver) : this.o.driver.cancel?.bind(this.o.driver);
    if (!cancel) return;
    for (const d of (await this.o.store.devices(id)).filter((x) => x.state === 'in-flight')) {
      await cancel(d).catch((err: unknown) =>
        this.o.log.warn({ err, rollout: id, deviceId: d.deviceId }, 'withdrawing the release failed'),
      );
    }
  }

  private async transition(
    id: string,
    from: RolloutRecord['state'][],
    to: RolloutRecord['state'],
    reason: string | null,
  ): Promise<RolloutView> {
    const r = await this.get(id);
    if (!from.includes(r.state)) throw new DiemcauError('FLEET_ERR_ROLLOUT_STATE', `rollout is ${r.state}`);
    await this.o.store.setRolloutState(id, to, reason, new Date(this.now()).toISOString());
    this.changed();
    this.o.log.info({ rollout: id, from: r.state, to, reason }, 'rollout state changed');
    return this.view(id);
  }

  private async get(id: string): Promise<RolloutRecord> {
    const r = await this.o.store.rollout(id);
    if (!r) throw new DiemcauError('FLEET_ERR_NOT_FOUND', `rollout ${id}`);
    return r;
  }

  async view(id: string, withDevices = false): Promise<RolloutView> {
    const r = await this.get(id);
    const devices = await this.o.store.devices(id);
    const last = this.last.get(id) ?? { currentRing: null, skippedBusy: [] };
    return { ...r, rings: ringProgress(r.spec, devices), ...last, ...(withDevices ? { devices } : {}) };
  }

  async list(): Promise<RolloutView[]> {
    return Promise.all((await this.o.store.rollouts()).map((r) => this.view(r.id)));
  }

  /** A device's report on its 'ota' channel. */
  handleStatus(deviceId: string, status: OtaStatus, receivedAt: string): Promise<void> {
    return this.serial(() => this.statusNow(deviceId, status, receivedAt));
  }

  private async statusNow(deviceId: string, status: OtaStatus, receivedAt: string): Promise<void> {
    this.counters.reports++;
    await this.o.store.putStatus(deviceId, status, receivedAt);
    if (!status.target) return;
    const reason = `${status.state}: ${status.error?.code ?? ''} ${status.error?.message ?? ''}`.trim();
    // A box refusing a downgrade did not fail the release: the fleet's idea of its version was stale.
    // One lacking the release's Debian libraries keeps running what it has: skipped, with the missing ones as reason.
    const refused =
      status.state === 'failed' &&
      (status.error?.code === 'APPL_ERR_OTA_DOWNGRADE' || status.error?.code === 'APPL_ERR_OTA_REQUIREMENTS');
    const report: DeviceReport =
      status.state === 'committed'
        ? { state: 'succeeded' }
        : refused
          ? { state: 'skipped', reason }
          : status.state === 'failed' || status.state === 'rolled-back'
            ? { state: 'failed', reason }
            : { state: 'in-progress' };
    let matched = false;
    for (const r of await this.o.store.activeRollouts()) {
      if (r.spec.release !== status.target || (status.rolloutId && status.rolloutId !== r.id)) continue;
      const d = (await this.o.store.devices(r.id)).find((x) => x.deviceId === deviceId);
      if (!d) continue;
      matched = true;
      await this.apply(r.id, d, report);
    }
    if (!matched) this.counters.unmatchedReports++;
    else if (report.state !== 'in-progress') void this.tick();
  }

  /** A device's report on its 'os' channel. */
  handleOsStatus(deviceId: string, status: OsStatus, receivedAt: string): Promise<void> {
    return this.serial(() => this.osStatusNow(deviceId, status, receivedAt));
  }

  private async osStatusNow(deviceId: string, status: OsStatus, receivedAt: string): Promise<void> {
    this.counters.reports++;
    await this.o.store.putOsStatus(deviceId, status, receivedAt);
    const report: DeviceReport =
      status.state === 'applied'
        ? { state: 'succeeded' }
        : status.state === 'failed'
          ? { state: 'failed', reason: `failed: ${status.error?.code ?? ''} ${status.error?.message ?? ''}`.trim() }
          : { state: 'in-progress' };
    let matched = false;
    for (const r of await this.o.store.activeRollouts()) {
      if (r.spec.os?.snapshot !== status.snapshot || (status.rolloutId && status.rolloutId !== r.id)) continue;
      const d = (await this.o.store.devices(r.id)).find((x) => x.deviceId === deviceId);
      if (!d) continue;
      matched = true;
      await this.apply(r.id, d, report);
    }
    if (!matched) this.counters.unmatchedReports++;
    else if (report.state !== 'in-progress') void this.tick();
  }

  private async apply(rolloutId: string, d: RolloutDevice, report: DeviceReport): Promise<void> {
    // A late report does not undo an outcome already counted (e.g. after a silent timeout).
    if (d.state === 'succeeded' || d.state === 'skipped' || (d.state === 'failed' && report.state !== 'succeeded'))
      return;
    const now = this.now();
    if (report.state === 'in-progress')
      await this.o.store.updateDevice(rolloutId, {
        ...d,
        state: d.state === 'pending' ? 'pending' : 'in-flight',
        lastReportAt: now,
      });
    else
      await this.o.store.updateDevice(rolloutId, {
        ...d,
        state: report.state,
        lastReportAt: now,
        reason: report.reason ?? null,
      });
    this.changed();
  }

  /** One planning round for every active rollout; calls are queued, never overlapped. */
  tick(): Promise<void> {
    return this.serial(() => this.tickNow()).catch((err: unknown) =>
      isNotLeader(err)
        ? this.o.log.warn('rollout tick stopped: this node no longer leads')
        : this.o.log.error({ err }, 'rollout tick failed'),
    );
  }

  private async tickNow(): Promise<void> {
    if (this.closed || this.o.isLeader?.() === false) return;
    for (const r of await this.o.store.activeRollouts()) {
      const os = r.spec.os ?? null;
      const release = os ? null : await this.o.releases.ready(r.spec.release!);
      let devices = await this.o.store.devices(r.id);
      const ids = devices.map((d) => d.deviceId);
      if (this.o.driver.poll && release) {
        const reports = await this.o.driver.poll(
          ids.filter((id) => devices.find((d) => d.deviceId === id)?.state === 'in-flight'),
          release,
        );
        for (const d of devices) {
          const rep = reports.get(d.deviceId);
          if (rep) await this.apply(r.id, d, rep);
        }
        devices = await this.o.store.devices(r.id);
      }
      const siteIds = [...new Set(devices.map((d) => d.siteId))];
      const plan = planRollout({
        spec: r.spec,
        state: r.state,
        devices,
        online: await this.o.driver.online(ids),
        busySites: await this.o.ports.busySites(siteIds, r.spec.meetingLeadMin),
        now: this.now(),
      });
      this.last.set(r.id, { currentRing: plan.currentRing, skippedBusy: plan.skippedBusy });
      const fence = this.o.fence ?? UNFENCED;
      for (const id of plan.timedOut) {
        const d = devices.find((x) => x.deviceId === id)!;
        await fence(() =>
          this.o.store.updateDevice(r.id, { ...d, state: 'failed', reason: 'silent past the timeout' }),
        );
        this.changed();
      }
      if (plan.state !== r.state) {
        await fence(() =>
          this.o.store.setRolloutState(r.id, plan.state, plan.reason, new Date(this.now()).toISOString()),
        );
        this.changed();
        this.o.log.warn(
          { rollout: r.id, target: rolloutTarget(r.spec), state: plan.state, reason: plan.reason },
          'rollout state changed by the planner',
        );
        if (plan.state === 'aborted') await this.withdraw(r.id);
      }
      // Versions move while a rollout waits (a box updated by hand, or by an
      // earlier rollout): check again just before telling anyone.
      const now =
        plan.dispatch.length > 0 && release
          ? new Map((await this.o.ports.devices()).map((d) => [d.deviceId, d.agentVersion]))
          : new Map<string, string | null>();
      for (const id of plan.dispatch) {
        const d = devices.find((x) => x.deviceId === id)!;
        const refusal = release ? downgradeRefusal(release.manifest, now.get(id) ?? null) : null;
        if (refusal) {
          await fence(() => this.o.store.updateDevice(r.id, { ...d, state: 'skipped', reason: refusal }));
          this.changed();
          this.o.log.info({ rollout: r.id, deviceId: id, reason: refusal }, 'device skipped: it runs a newer version');
          continue;
        }
        try {
          // The step is recorded in the same fenced transaction that checked the lead: a stalled
          // leader that wakes after a takeover neither sends it nor records it.
          await fence(async () => {
            if (os) await this.o.driver.dispatchOs!(d, os, { rolloutId: r.id });
            else
              await this.o.driver.dispatch(d, release!, {
                rolloutId: r.id,
                ...(r.spec.bandwidthLimit ? { bandwidthLimit: r.spec.bandwidthLimit } : {}),
              });
            await this.o.store.updateDevice(r.id, { ...d, state: 'in-flight', dispatchedAt: this.now() });
          });
          this.changed();
          this.counters.dispatched++;
        } catch (err) {
          if (isNotLeader(err)) throw err;
          this.counters.dispatchErrors++;
          this.o.log.warn({ err, rollout: r.id, deviceId: id }, 'dispatch failed; will retry');
        }
      }
    }
  }

  // A ring of 500 boxes reporting is one reload for the dashboards, not 500.
  private changed(): void {
    if (!this.o.onChange || this.changeTimer || this.closed) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = null;
      this.o.onChange?.();
    }, 1000);
    this.changeTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.changeTimer) clearTimeout(this.changeTimer);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.chain;
    await this.o.driver.close?.();
  }
}
