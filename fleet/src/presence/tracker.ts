import type { Logger } from 'pino';
import type { Presence } from '@diemcau/shared';
import type { DevicesRepo } from '../db/devices-repo.js';
import type { AlertService } from '../alerts/service.js';
import type { FleetEvents, PresenceReason } from '../events.js';
import type { FleetMetrics } from '../metrics.js';
import type { SiteDirectory } from '../sites.js';
import { emptyRulesState, forgetDevice, keys, planPresence, type AlertAction, type PresenceRef, type RuleInput, type RulesConfig } from './rules.js';

interface Live {
  online: boolean;
  /** The connection that made it online; a late event from an older one is ignored. */
  connId: number;
}

export interface TrackerOptions {
  devices: DevicesRepo;
  sites: SiteDirectory;
  alerts: AlertService;
  events: FleetEvents;
  metrics: FleetMetrics;
  log: Logger;
  rules: RulesConfig;
  startupGraceMs: number;
  /** Injected for tests of the executor; Date.now otherwise. */
  now?: () => number;
}

/**
 * The executor around the presence rules: turns broker signals (connect,
 * disconnect, keepalive expiry, birth, will) into device state in the
 * registry and events on the bus, runs the planner and carries out its alert
 * actions, and keeps the one timer the planner asks for.
 */
export class PresenceTracker {
  private readonly live = new Map<string, Live>();
  private readonly refs = new Map<string, PresenceRef>();
  /** Devices per relay group, for the outage threshold. */
  private readonly groupSizes = new Map<string, number>();
  private readonly rules = emptyRulesState();
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private onlineCount = 0;
  private readonly now: () => number;

  constructor(private readonly o: TrackerOptions) {
    this.now = o.now ?? Date.now;
  }

  /**
   * Loads what the registry knows: the devices, and what was open when the
   * fleet last stopped. Devices that were online get startupGraceMs to come
   * back before they count as dropped.
   */
  start(): void {
    for (const d of this.o.devices.list()) this.remember(d.id, d.siteId);
    const wereOnline = this.o.devices.resetPresence();
    const now = this.now();
    // Alerts still open from before the restart: keep device-offline ones
    // (the device is still believed down), let the rules find the rest again.
    for (const a of this.o.alerts.list({ state: 'open', limit: 100_000 })) {
      if (a.type === 'device-offline' && a.deviceId && this.refs.has(a.deviceId)) {
        this.plan({ kind: 'presence', device: this.refs.get(a.deviceId)!, online: true, at: now });
        this.markRestoredOffline(a.deviceId, now);
      } else if (a.type === 'flapping' || a.type === 'district-outage') {
        this.o.alerts.resolve(a.key, 'fleet restarted; rules re-evaluated');
      }
    }
    for (const id of wereOnline) {
      const ref = this.refs.get(id);
      if (ref) this.plan({ kind: 'presence', device: ref, online: true, at: now });
    }
    if (wereOnline.length > 0) {
      this.graceTimer = setTimeout(() => {
        for (const id of wereOnline) if (!this.live.get(id)?.online) this.change(id, false, 'startup-grace', 0);
      }, this.o.startupGraceMs);
      this.graceTimer.unref();
    }
  }

  /** A device enrolled or moved: its site decides its relay group. */
  remember(deviceId: string, siteId: string): void {
    const old = this.refs.get(deviceId);
    if (old?.groupId) this.groupSizes.set(old.groupId, (this.groupSizes.get(old.groupId) ?? 1) - 1);
    const ref: PresenceRef = { deviceId, siteId, groupId: this.o.sites.relayGroupOf(siteId)?.id ?? null };
    this.refs.set(deviceId, ref);
    if (ref.groupId) this.groupSizes.set(ref.groupId, (this.groupSizes.get(ref.groupId) ?? 0) + 1);
  }

  /** A revoked device: its alerts close, and its goodbye from the broker is no outage. */
  forget(deviceId: string): void {
    const ref = this.refs.get(deviceId);
    if (!ref) return;
    const { actions, wakeAt } = forgetDevice(this.rules, deviceId, this.now(), this.o.rules);
    for (const a of actions) this.apply(a);
    this.schedule(wakeAt);
    if (this.live.get(deviceId)?.online) {
      this.onlineCount -= 1;
      this.o.metrics.devicesOnline.set(this.onlineCount);
      this.o.events.emit('device-presence', { deviceId, siteId: ref.siteId, online: false, at: new Date(this.now()).toISOString(), reason: 'revoked' });
    }
    this.live.delete(deviceId);
    this.refs.delete(deviceId);
    if (ref.groupId) this.groupSizes.set(ref.groupId, (this.groupSizes.get(ref.groupId) ?? 1) - 1);
  }

  isOnline(deviceId: string): boolean {
    return this.live.get(deviceId)?.online === true;
  }

  get online(): number {
    return this.onlineCount;
  }

  connected(deviceId: string, connId: number): void {
    this.change(deviceId, true, 'connected', connId);
  }

  disconnected(deviceId: string, connId: number, keepaliveExpired: boolean): void {
    const cur = this.live.get(deviceId);
    if (cur && cur.connId !== connId) return; // an older connection, already replaced
    this.change(deviceId, false, keepaliveExpired ? 'keepalive-timeout' : 'disconnected', connId);
  }

  /** The retained birth ("online", versions, peripherals) or the will / goodbye ("offline"). */
  presenceMessage(deviceId: string, connId: number, p: Presence): void {
    if (this.stopped) return;
    if (p.state === 'online') {
      this.o.devices.setBirth(deviceId, { agentVersion: p.agentVersion, os: p.os, hardware: p.hardware, peripherals: p.peripherals });
      const ref = this.refs.get(deviceId);
      this.o.events.emit('device-birth', {
        deviceId,
        siteId: ref?.siteId ?? '',
        agentVersion: p.agentVersion,
        peripherals: p.peripherals,
        at: new Date(this.now()).toISOString(),
      });
      this.change(deviceId, true, 'birth', connId);
      return;
    }
    const cur = this.live.get(deviceId);
    if (cur && cur.connId !== connId) return;
    this.change(deviceId, false, 'will', connId);
  }

  private change(deviceId: string, online: boolean, reason: PresenceReason, connId: number): void {
    if (this.stopped) return;
    const ref = this.refs.get(deviceId) ?? this.lookup(deviceId);
    if (!ref) return;
    const cur = this.live.get(deviceId);
    if (cur?.online === online) {
      if (online) cur.connId = connId;
      return;
    }
    this.live.set(deviceId, { online, connId });
    this.onlineCount += online ? 1 : -1;
    if (!cur && !online) this.onlineCount += 1; // was never counted as online
    this.o.metrics.devicesOnline.set(this.onlineCount);
    const at = this.now();
    const iso = new Date(at).toISOString();
    this.o.devices.setPresence(deviceId, online, iso);
    this.o.log.debug({ deviceId, online, reason }, 'presence changed');
    this.o.events.emit('device-presence', { deviceId, siteId: ref.siteId, online, at: iso, reason });
    this.plan({ kind: 'presence', device: ref, online, at });
  }

  private lookup(deviceId: string): PresenceRef | undefined {
    const d = this.o.devices.get(deviceId);
    if (!d || d.revokedAt !== null) return undefined;
    this.remember(d.id, d.siteId);
    return this.refs.get(deviceId);
  }

  /** A device-offline alert survived a restart: tell the rules it is down and alerted. */
  private markRestoredOffline(deviceId: string, at: number): void {
    const ref = this.refs.get(deviceId)!;
    this.plan({ kind: 'presence', device: ref, online: false, at: at - this.o.rules.offlineDebounceMs });
  }

  private plan(input: RuleInput): void {
    const { actions, wakeAt } = planPresence(this.rules, input, this.o.rules, {
      groupSize: (id) => this.groupSizes.get(id) ?? 0,
      groupInfo: (id) => {
        const g = this.o.sites.relayGroup(id);
        return g ? { hubSiteId: g.hubSiteId, name: g.name, sites: g.siteIds.filter((s) => s !== g.hubSiteId).length } : undefined;
      },
    });
    for (const a of actions) this.apply(a);
    this.schedule(wakeAt);
  }

  private apply(a: AlertAction): void {
    try {
      if (a.action === 'open') {
        this.o.alerts.open({ type: a.type, key: a.key, siteId: a.siteId, deviceId: a.deviceId, severity: a.severity, details: a.details });
      } else if (a.action === 'update') {
        this.o.alerts.update(a.key, { details: a.details });
      } else {
        this.o.alerts.resolve(a.key, a.resolution);
      }
    } catch (err) {
      this.o.log.error({ err, action: a }, 'alert action failed');
    }
  }

  private schedule(wakeAt: number | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (wakeAt === null || this.stopped) return;
    this.timer = setTimeout(() => this.plan({ kind: 'tick', at: this.now() }), Math.max(0, wakeAt - this.now()));
  }

  /** Stops reacting: the broker's goodbyes at shutdown are not outages. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
  }
}

export { keys as alertKeys };
