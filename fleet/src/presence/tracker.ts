import type { Logger } from 'pino';
import type { Presence } from '@diemcau/shared';
import type { DevicesRepo } from '../db/devices-repo.js';
import type { AlertService } from '../alerts/service.js';
import type { FleetEvents, PresenceReason } from '../events.js';
import type { FleetMetrics } from '../metrics.js';
import type { SiteDirectory } from '../sites.js';
import {
  emptyRulesState,
  forgetDevice,
  keys,
  planPresence,
  type AlertAction,
  type PresenceRef,
  type RuleInput,
  type RulesConfig,
} from './planner.js';
import { SessionTable, type PresenceTransition, type SessionStart } from './sessions.js';
import { KeyedSerial } from '../keyed-serial.js';
import { WriteBatcher } from './write-batch.js';
import { isNotLeader, UNFENCED, type Fence } from '../cluster/leadership.js';

/** A device's presence as asked to be written: `at` null changes only the flag (a correction). */
interface PresenceWrite {
  online: boolean;
  at: string | null;
  /** Which ask this was (a failed write is written again only if no newer one was asked). */
  seq: number;
}

/**
 * How far back, past the offline debounce, a new leader looks for devices
 * the old leader wrote offline and may not have decided on yet: the longest
 * a takeover takes (a lease, a starved node) with room to spare.
 */
const PENDING_LOOKBACK_MS = 60_000;

/** How long a presence write or alert action the store did not take waits before it is done again. */
const RETRY_MS = 5_000;
/**
 * Presence changes are written together within this window. A storm brings
 * a few hundred logins a second, each in its own turn of the event loop:
 * written one by one, each was a commit (on PostgreSQL a fenced transaction
 * waiting for the disk). The live feed hears of a change at once.
 */
const PRESENCE_WRITE_WINDOW_MS = 50;

/** The devices an incident or a device alert names. */
function memberIds(a: { deviceId: string | null; details: Record<string, unknown> | null }): string[] {
  const listed = a.details?.devices;
  const ids = Array.isArray(listed) ? listed.filter((x): x is string => typeof x === 'string') : [];
  return a.deviceId ? [a.deviceId, ...ids] : ids;
}

/** Why a session ended, as the broker saw it. */
export type SessionEndReason = 'disconnected' | 'keepalive-timeout' | 'node-lost';

export interface TrackerOptions {
  devices: DevicesRepo;
  sites: SiteDirectory;
  alerts: AlertService;
  events: FleetEvents;
  metrics: FleetMetrics;
  log: Logger;
  rules: RulesConfig;
  startupGraceMs: number;
  /** The leader's fence around its registry writes and alert actions (cluster/leadership.ts); none: one node. */
  fence?: Fence;
  /** Injected for tests of the executor; Date.now otherwise. */
  now?: () => number;
}

/**
 * The executor around the presence rules: turns the broker's sessions (on
 * this node, or on every node of a cluster) into device state in the
 * registry and events on the bus, runs the planner and carries out its alert
 * actions, and keeps the one timer the planner asks for.
 *
 * Online is decided by the session table alone (sessions.ts). Every node
 * keeps the table, so any node answers "is it online" and "how many"; only the
 * leader writes presence to the registry, emits presence events and runs the
 * alert rules (in the embedded mode the single node always leads).
 */
export class PresenceTracker {
  private readonly table = new SessionTable();
  private readonly refs = new Map<string, PresenceRef>();
  /** Devices per relay group, for the outage threshold. */
  private readonly groupSizes = new Map<string, number>();
  private readonly rules = emptyRulesState();
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private leading = false;
  /**
   * Devices given a grace to reconnect, with when they dropped and when the
   * grace ends: those the registry had online when this node took the lead
   * and that have no session yet, and those whose node died under them.
   */
  private readonly awaited = new Map<string, { since: number; until: number }>();
  private graceAt: number | undefined;
  /** The end of the latest grace given (a restart's, a node death's): boxes dropping before it join it. */
  private graceWindowEnd = 0;
  /** Presence writes asked for, counted; the last one per device; failed ones still to be written again. */
  private writeSeq = 0;
  private readonly lastAsked = new Map<string, number>();
  private readonly unwritten = new Map<string, { online: boolean; at: string | null }>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** The latest alert action asked per key, the latest open per key, and the keys to act on again (an open failed?). */
  private readonly lastAct = new Map<string, AlertAction>();
  private readonly opens = new Map<string, Extract<AlertAction, { action: 'open' }>>();
  private readonly redoAlerts = new Map<string, { open: boolean }>();
  /** An alert action refused for want of the lead was logged since this node last took it. */
  private refusalLogged = false;
  private readonly now: () => number;
  private readonly fence: Fence;
  /** Registry writes and look-ups, in order per device (the rules themselves run at once, in memory). */
  private readonly perDevice = new KeyedSerial();
  /** Presence changes within PRESENCE_WRITE_WINDOW_MS: one registry write for all of them. */
  private readonly presenceWrites = new WriteBatcher<PresenceWrite & { at: string }>(
    this.perDevice,
    PRESENCE_WRITE_WINDOW_MS,
    (rows) => {
      const each = [...rows].map(([id, w]) => ({ id, online: w.online, at: w.at }));
      return this.fence(() => this.o.devices.setPresenceEach(each)).catch((err: unknown) =>
        this.presenceWriteFailed(err, rows),
      );
    },
  );
  /** Devices whose session signals wait behind a registry look-up. */
  private readonly looking = new Set<string>();
  /** Counts follow() calls: a lead() still reading the registry when one comes gives up. */
  private epoch = 0;

  constructor(private readonly o: TrackerOptions) {
    this.now = o.now ?? Date.now;
    this.fence = o.fence ?? UNFENCED;
  }

  /** Loads the devices; presence work waits for lead(). */
  async start(): Promise<void> {
    for (const d of await this.o.devices.list()) this.remember(d.id, d.siteId);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * This node leads from now on. It takes over presence as it stands: the
   * session table (every node keeps it current) against the registry's
   * column, read and never reset, so operators see right counts throughout;
   * only the devices where the two differ are written, in one transaction.
   * Devices online in the registry without a session anywhere are offline
   * (as the table says) but get startupGraceMs to come back before they
   * count as dropped (after a whole fleet restart); in a cluster the
   * sessions of the other nodes are already in the table, so a box that
   * merely moved is no outage. The decisions the old leader had pending
   * (an offline debounce lives in its memory only) are armed again from the
   * registry: a device it wrote offline, that no open alert speaks for, is a
   * drop at the time the registry gives.
   */
  async lead(graceMs = this.o.startupGraceMs): Promise<void> {
    if (this.leading || this.stopped) return;
    // The registry is read first and the lead taken after, with nothing in
    // between: every change of this node from here on is the leader's.
    const epoch = this.epoch;
    const [stored, open] = await Promise.all([
      this.o.devices.presence(),
      this.o.alerts.list({ state: 'open', limit: 100_000 }),
    ]);
    if (this.leading || this.stopped || epoch !== this.epoch) return;
    this.leading = true;
    this.refusalLogged = false;
    const now = this.now();
    const iso = new Date(now).toISOString();
    const registry = new Map(stored.map((d) => [d.id, d]));
    // Devices an open alert speaks for: they need no decision of their own.
    const spokenFor = new Set<string>();
    const rejudge = new Set<string>();
    const stormMembers = new Set<string>();
    let reconnect: { key: string } | undefined;
    const stillAway: PresenceRef[] = [];
    let awaySince = now;
    /** Dropped shortly before this lead, with no decision of the old leader's known. */
    const recentDrops: Array<{ ref: PresenceRef; at: number }> = [];
    // Alerts still open from before: keep device-offline ones (the device is
    // still believed down); let the rules judge the rest again, their
    // devices with them.
    for (const a of open) {
      if (a.type === 'device-offline' && a.deviceId && this.refs.has(a.deviceId)) {
        spokenFor.add(a.deviceId);
        this.plan({ kind: 'presence', device: this.refs.get(a.deviceId)!, online: true, at: now });
        this.plan({
          kind: 'presence',
          device: this.refs.get(a.deviceId)!,
          online: false,
          at: now - this.o.rules.offlineDebounceMs,
        });
      } else if (a.type === 'fleet-reconnect') {
        // Still a storm: its boxes still away are one late batch again, below (the incident kept).
        reconnect = a;
        for (const id of memberIds(a)) stormMembers.add(id);
      } else if (a.type === 'flapping' || a.type === 'district-outage') {
        for (const id of memberIds(a)) rejudge.add(id);
        this.act({ action: 'resolve', key: a.key, resolution: 'fleet leader changed; rules re-evaluated' });
      }
    }
    const lookback = now - this.o.rules.offlineDebounceMs - PENDING_LOOKBACK_MS;
    const corrected: string[] = [];
    const quiet: string[] = [];
    for (const [deviceId, ref] of this.refs) {
      const was = registry.get(deviceId);
      if (this.table.isOnline(deviceId)) {
        if (!was?.online) {
          corrected.push(deviceId);
          this.announce(deviceId, true, iso, 'connected');
        }
        this.plan({ kind: 'presence', device: ref, online: true, at: now });
      } else if (was?.online) {
        // No session anywhere: not online, whatever the registry says; its alert waits for the grace.
        quiet.push(deviceId);
        this.awaitUntil(deviceId, now, now + graceMs);
        this.plan({ kind: 'presence', device: ref, online: true, at: now });
      } else if (was?.presenceAt && !spokenFor.has(deviceId)) {
        const droppedAt = Date.parse(was.presenceAt);
        if (stormMembers.has(deviceId)) {
          stillAway.push(ref);
          awaySince = Math.min(awaySince, droppedAt);
        } else if (rejudge.has(deviceId))
          this.plan({ kind: 'presence', device: ref, online: false, at: Math.min(droppedAt, now) });
        else if (droppedAt > lookback) recentDrops.push({ ref, at: Math.min(droppedAt, now) });
      }
    }
    // Boxes online in the registry with no session anywhere get a grace: a restart's storm is
    // on. The ones the old leader had just written offline wait with them, as a box that drops
    // during a grace does (joinGrace), instead of an alert each after the debounce.
    for (const { ref, at } of recentDrops) {
      if (quiet.length > 0) this.awaitUntil(ref.deviceId, at, now + graceMs);
      else this.plan({ kind: 'presence', device: ref, online: false, at });
    }
    // The storm the old leader had as one incident stays one: its boxes still away are one late
    // batch (the open incident is adopted, not opened again), not a drop each at the time it
    // dropped. Too few left for an incident: it closes and they are ordinary drops.
    if (reconnect && stillAway.length < this.o.rules.districtMinDevices)
      this.act({ action: 'resolve', key: reconnect.key, resolution: 'fleet leader changed; rules re-evaluated' });
    if (stillAway.length > 0) this.plan({ kind: 'late', devices: stillAway, since: awaySince, at: now });
    this.writeMany(corrected, true, iso);
    this.writeMany(quiet, false, null);
    this.o.metrics.devicesOnline.set(this.table.online);
    this.scheduleGrace();
  }

  /** The next end of a grace, if any is running. */
  private scheduleGrace(): void {
    let next: number | undefined;
    for (const { until } of this.awaited.values()) if (next === undefined || until < next) next = until;
    if (next === this.graceAt) return;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.graceAt = next;
    if (next === undefined || !this.leading) return;
    this.graceTimer = setTimeout(() => this.graceEnded(), Math.max(0, next - this.now()));
    this.graceTimer.unref();
  }

  /**
   * Boxes still missing at the end of their grace are offline now, all in one
   * input to the rules (one incident for a storm that outlasted it, not an
   * alert per box).
   */
  private graceEnded(): void {
    this.graceTimer = undefined;
    this.graceAt = undefined;
    if (!this.leading || this.stopped) return;
    const now = this.now();
    const iso = new Date(now).toISOString();
    const late: PresenceRef[] = [];
    let since = now;
    for (const [deviceId, a] of this.awaited) {
      if (a.until > now) continue;
      this.awaited.delete(deviceId);
      const ref = this.refs.get(deviceId);
      if (!ref || this.table.isOnline(deviceId)) continue;
      this.announce(deviceId, false, iso, 'startup-grace');
      late.push(ref);
      since = Math.min(since, a.since);
    }
    if (late.length === 0) return this.scheduleGrace();
    // One transaction for the lot (a storm's thousands of boxes), not one per box.
    this.writeMany(
      late.map((r) => r.deviceId),
      false,
      iso,
    );
    this.o.log.info({ devices: late.length }, 'reconnect grace over: boxes still missing are offline');
    this.plan({ kind: 'late', devices: late, since, at: now });
    this.scheduleGrace();
  }

  /** Another node leads now: stop deciding (the table stays current). */
  follow(): void {
    this.epoch += 1;
    if (!this.leading) return;
    this.leading = false;
    this.awaited.clear();
    this.graceWindowEnd = 0;
    if (this.timer) clearTimeout(this.timer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.timer = undefined;
    this.graceTimer = undefined;
    this.graceAt = undefined;
    this.dropRewrites();
    // The rules' memory belongs to the leader; a later lead() rebuilds it.
    Object.assign(this.rules, emptyRulesState());
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
    if (this.leading) {
      const { actions, wakeAt } = forgetDevice(this.rules, deviceId, this.now(), this.o.rules);
      for (const a of actions) this.act(a);
      this.schedule(wakeAt);
    }
    if (this.table.forget(deviceId)) {
      this.o.metrics.devicesOnline.set(this.table.online);
      if (this.leading) this.announce(deviceId, false, new Date(this.now()).toISOString(), 'revoked');
    }
    this.awaited.delete(deviceId);
    this.unwritten.delete(deviceId);
    this.lastAsked.delete(deviceId);
    this.refs.delete(deviceId);
    if (ref.groupId) this.groupSizes.set(ref.groupId, (this.groupSizes.get(ref.groupId) ?? 1) - 1);
  }

  isOnline(deviceId: string): boolean {
    return this.table.isOnline(deviceId);
  }

  get online(): number {
    return this.table.online;
  }

  /** A session began on some node (its CONNACK went out and it was still open). */
  sessionStarted(s: SessionStart): void {
    if (this.stopped) return;
    if (this.refs.has(s.deviceId) && !this.looking.has(s.deviceId))
      return this.transition(this.table.start(s), 'connected');
    // Not in memory (enrolled through another node, or racing its own
    // enrolment): ask the registry; this device's later signals wait behind the answer.
    this.behindLookup(s.deviceId, () => {
      if (this.refs.has(s.deviceId)) this.transition(this.table.start(s), 'connected');
    });
  }

  /** A session ended: its connection closed, or its node is gone. */
  sessionEnded(sessionId: string, deviceId: string, reason: SessionEndReason): void {
    if (this.stopped) return;
    if (this.looking.has(deviceId))
      return this.behindLookup(deviceId, () => this.transition(this.table.end(sessionId, deviceId), reason));
    this.transition(this.table.end(sessionId, deviceId), reason);
  }

  private behindLookup(deviceId: string, then: () => void): void {
    this.looking.add(deviceId);
    this.perDevice
      .run(deviceId, async () => {
        if (!this.refs.has(deviceId)) await this.lookup(deviceId);
      })
      .then(
        () => {
          this.looking.delete(deviceId);
          if (!this.stopped) then();
        },
        (err: unknown) => {
          this.looking.delete(deviceId);
          this.o.log.error({ err, deviceId }, 'device look-up failed; its session signal is dropped');
        },
      );
  }

  /**
   * A node died or left: every session it held has ended. Its boxes that
   * have no session elsewhere yet are not offline at once: they get the
   * startup grace to reconnect to another node (the agent's backoff, a
   * storm of thousands at once), as after a restart of the whole fleet. The
   * registry keeps them online meanwhile, so a leader that takes over
   * during the grace awaits them too.
   */
  nodeLost(nodeId: string, graceMs = this.o.startupGraceMs): void {
    if (this.stopped) return;
    const now = this.now();
    for (const t of this.table.endNode(nodeId)) {
      this.o.metrics.devicesOnline.set(this.table.online);
      if (!t.online && this.leading && this.refs.has(t.deviceId)) {
        this.awaitUntil(t.deviceId, now, now + graceMs);
      } else this.transition(t, 'node-lost');
    }
    this.scheduleGrace();
  }

  /** Nodes that hold sessions in the table. */
  sessionNodes(): Set<string> {
    return this.table.nodes();
  }

  /**
   * The retained birth carries versions and peripherals; it never makes a
   * device online by itself (only a live session does: a birth can arrive
   * after its connection is gone). The "offline" will or goodbye changes
   * nothing either: the session's end follows it.
   */
  presenceMessage(deviceId: string, p: Presence): void {
    if (this.stopped || p.state !== 'online') return;
    this.write(deviceId, () =>
      this.o.devices.setBirth(deviceId, {
        agentVersion: p.agentVersion,
        os: p.os,
        hardware: p.hardware,
        peripherals: p.peripherals,
      }),
    );
    const ref = this.refs.get(deviceId);
    this.o.events.emit('device-birth', {
      deviceId,
      siteId: ref?.siteId ?? '',
      agentVersion: p.agentVersion,
      peripherals: p.peripherals,
      at: new Date(this.now()).toISOString(),
    });
  }

  private transition(t: PresenceTransition | null, reason: PresenceReason): void {
    if (!t) return;
    this.o.metrics.devicesOnline.set(this.table.online);
    if (t.online) this.awaited.delete(t.deviceId);
    else if (this.leading && this.joinGrace(t.deviceId)) return void this.record(t.deviceId, false, reason);
    if (this.leading) this.apply(t.deviceId, t.online, reason);
  }

  /**
   * While boxes have a grace to come back (a fleet restart, a node's death),
   * a box that drops joins them until the grace is over, instead of its own
   * 300 ms debounce: in a storm boxes come back and drop again (a CONNACK
   * that reached them too late, a keepalive missed by a flooded node), and
   * each would be an alert of its own. At the grace's end the ones still
   * away are judged together (one incident from a few boxes on).
   */
  private joinGrace(deviceId: string): boolean {
    if (!this.refs.has(deviceId) || this.awaited.size === 0) return false;
    const now = this.now();
    if (this.graceWindowEnd <= now) return false;
    // Until that grace ends: a rolling restart's (DIEMCAU_CLUSTER_LEFT_GRACE_MS) is the longest,
    // and a box that really failed meanwhile is alerted that much later, never missed.
    this.awaitUntil(deviceId, now, this.graceWindowEnd);
    this.scheduleGrace();
    return true;
  }

  /** A box away since `since` gets until `until` to come back (scheduleGrace() arms the timer). */
  private awaitUntil(deviceId: string, since: number, until: number): void {
    this.awaited.set(deviceId, { since, until });
    this.graceWindowEnd = Math.max(this.graceWindowEnd, until);
  }

  /** The leader's half of a change: the registry, the bus, the rules. */
  private apply(deviceId: string, online: boolean, reason: PresenceReason): void {
    const ref = this.refs.get(deviceId);
    if (!ref || !this.leading) return;
    const at = this.record(deviceId, online, reason);
    this.plan({ kind: 'presence', device: ref, online, at });
  }

  /** The registry and the bus told of a change (the rules are the caller's). Returns its time. */
  private record(deviceId: string, online: boolean, reason: PresenceReason): number {
    const at = this.now();
    const iso = new Date(at).toISOString();
    this.presenceWrites.add(deviceId, { online, at: iso, seq: this.asked([deviceId]) });
    this.o.log.debug({ deviceId, online, reason }, 'presence changed');
    this.announce(deviceId, online, iso, reason);
    return at;
  }

  /** The live feed told of a change, with the device's site. */
  private announce(deviceId: string, online: boolean, iso: string, reason: PresenceReason): void {
    const siteId = this.refs.get(deviceId)?.siteId ?? '';
    this.o.events.emit('device-presence', { deviceId, siteId, online, at: iso, reason });
  }

  /** A registry write for one device, after that device's earlier ones. */
  private write(deviceId: string, fn: () => Promise<void>): void {
    this.perDevice
      .run(deviceId, fn)
      .catch((err: unknown) =>
        isNotLeader(err)
          ? this.o.log.info({ deviceId }, 'presence write dropped: this node no longer leads')
          : this.o.log.error({ err, deviceId }, 'presence write failed'),
      );
  }

  /**
   * One registry write for many devices (a takeover's corrections): one
   * transaction, after each device's earlier writes and before its later ones.
   */
  private writeMany(ids: string[], online: boolean, iso: string | null): void {
    if (ids.length === 0) return;
    const seq = this.asked(ids);
    const batch = this.presenceWrites.writeAll(ids, () =>
      this.fence(() => this.o.devices.setPresenceMany(ids, online, iso)),
    );
    batch.catch((err: unknown) =>
      this.presenceWriteFailed(err, new Map(ids.map((id) => [id, { online, at: iso, seq }]))),
    );
  }

  /** A presence write is asked for these devices: it supersedes any failed one still to be written again. */
  private asked(ids: readonly string[]): number {
    const seq = ++this.writeSeq;
    for (const id of ids) {
      this.lastAsked.set(id, seq);
      this.unwritten.delete(id);
    }
    return seq;
  }

  /**
   * The registry did not take a presence write (PostgreSQL restarting, a
   * connection cut while the node was starved): what the devices' last write
   * said is written again after a pause, unless a newer write was asked for
   * meanwhile. Without it the registry (the dashboard's lists, the next
   * leader's start) stayed wrong until a leader change corrected it. A node
   * that no longer leads writes nothing: the new leader corrects.
   */
  private presenceWriteFailed(err: unknown, rows: ReadonlyMap<string, PresenceWrite>): void {
    if (isNotLeader(err))
      return this.o.log.info({ devices: rows.size }, 'presence write dropped: this node no longer leads');
    this.o.metrics.presenceWriteRetries.inc(rows.size);
    this.o.log.error({ err, devices: rows.size, retryInMs: RETRY_MS }, 'presence write failed; it is written again');
    if (!this.leading || this.stopped) return;
    for (const [id, { online, at, seq }] of rows)
      if (this.lastAsked.get(id) === seq) this.unwritten.set(id, { online, at });
    if (this.unwritten.size > 0) this.armRetry();
  }

  /** One timer for everything the store did not take, presence writes and alert actions alike. */
  private armRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => this.retryFailed(), RETRY_MS);
    this.retryTimer.unref();
  }

  private retryFailed(): void {
    this.retryTimer = undefined;
    if (!this.leading || this.stopped) return this.dropRewrites();
    const alerts = [...this.redoAlerts];
    this.redoAlerts.clear();
    for (const [key, { open }] of alerts) {
      const last = this.lastAct.get(key);
      const opening = this.opens.get(key);
      if (!last) continue;
      if (open && opening && last.action === 'update') this.act({ ...opening, details: last.details });
      else this.act(last);
    }
    const groups = new Map<string, { online: boolean; at: string | null; ids: string[] }>();
    for (const [id, w] of this.unwritten) {
      const key = `${w.online}|${w.at}`;
      const g = groups.get(key) ?? { ...w, ids: [] };
      g.ids.push(id);
      groups.set(key, g);
    }
    this.unwritten.clear();
    for (const g of groups.values()) this.writeMany(g.ids, g.online, g.at);
  }

  /** Resolves when every registry write asked for so far is done. */
  idle(): Promise<void> {
    return this.perDevice.idle();
  }

  private async lookup(deviceId: string): Promise<PresenceRef | undefined> {
    const d = await this.o.devices.siteOf(deviceId);
    if (!d || d.revoked) return undefined;
    this.remember(deviceId, d.siteId);
    return this.refs.get(deviceId);
  }

  private plan(input: RuleInput): void {
    const { actions, wakeAt } = planPresence(this.rules, input, this.o.rules, {
      groupSize: (id) => this.groupSizes.get(id) ?? 0,
      groupInfo: (id) => {
        const g = this.o.sites.relayGroup(id);
        return g
          ? { hubSiteId: g.hubSiteId, name: g.name, sites: g.siteIds.filter((s) => s !== g.hubSiteId).length }
          : undefined;
      },
    });
    for (const a of actions) this.act(a);
    this.schedule(wakeAt);
  }

  /** The alert service keeps the actions on one key in the order given here. */
  private act(a: AlertAction): void {
    this.lastAct.set(a.key, a);
    if (a.action === 'open') this.opens.set(a.key, a);
    const fenced = { fence: this.fence };
    const done =
      a.action === 'open'
        ? this.o.alerts.open(
            {
              type: a.type,
              key: a.key,
              siteId: a.siteId,
              deviceId: a.deviceId,
              severity: a.severity,
              details: a.details,
            },
            fenced,
          )
        : a.action === 'update'
          ? this.o.alerts.update(a.key, { details: a.details }, fenced)
          : this.o.alerts.resolve(a.key, a.resolution, fenced);
    done.then(
      () => {
        if (a.action !== 'resolve' || this.lastAct.get(a.key) !== a) return;
        this.lastAct.delete(a.key);
        this.opens.delete(a.key);
      },
      (err: unknown) => this.alertActionFailed(a, err),
    );
  }

  /**
   * The store did not take an alert action (a database error, not a lost
   * lead): the key is acted on again after a pause, from the latest action
   * asked for it. An alert that failed to open still opens, with the latest
   * details (its updates meanwhile changed nothing: there was nothing to
   * change); one resolved meanwhile stays resolved.
   */
  private alertActionFailed(a: AlertAction, err: unknown): void {
    if (!isNotLeader(err)) {
      this.o.log.error({ err, action: a.action, key: a.key }, 'alert action failed; it is done again');
      if (!this.leading || this.stopped) return;
      const redo = this.redoAlerts.get(a.key) ?? { open: false };
      if (a.action === 'open') redo.open = true;
      this.redoAlerts.set(a.key, redo);
      return this.armRetry();
    }
    // What was queued when the lead passed is refused as a whole (a storm's incident: thousands of updates).
    if (this.refusalLogged) return;
    this.refusalLogged = true;
    this.o.log.warn(
      { action: a.action, key: a.key },
      'alert action refused: this node no longer leads (logged once until it leads again)',
    );
  }

  private schedule(wakeAt: number | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (wakeAt === null || this.stopped || !this.leading) return;
    this.timer = setTimeout(() => this.plan({ kind: 'tick', at: this.now() }), Math.max(0, wakeAt - this.now()));
  }

  /** Stops reacting: the broker's goodbyes at shutdown are not outages. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.dropRewrites();
  }

  private dropRewrites(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.unwritten.clear();
    this.redoAlerts.clear();
    this.lastAct.clear();
    this.opens.clear();
  }
}

export { keys as alertKeys };
