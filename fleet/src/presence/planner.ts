// Alert rules for presence: a planner over plain data. Given the rule state,
// one input (a presence change or a clock tick) and the config, it says which
// alerts to open, update or resolve and when it next needs a tick. It does no
// I/O and reads no clock, so every rule is tested without a network.
//
// The state is a plain object the caller owns and passes back each time; the
// planner updates it in place rather than copying it, because at 10,000
// devices a copy per presence change would cost more than the rules do.
import type { DeviceRef } from '../devices/device-ref.js';
import type { AlertSeverity, PresenceAlertType } from '../alerts/alert-types.js';

export interface RulesConfig {
  /** An offline shorter than this opens no alert (a restart, a blip). Short: crash → alert must stay ~1 s. */
  offlineDebounceMs: number;
  /** Transitions are counted over this window for flapping; a flapping device is calm again after it. */
  flapWindowMs: number;
  /** This many transitions inside the window make a device flapping. */
  flapThreshold: number;
  /** Drops of one relay group's devices within this window are correlated (named before relay groups: district*). */
  districtWindowMs: number;
  /** Share of a relay group's devices that must drop for an outage incident... */
  districtFraction: number;
  /** ...and never fewer devices than this. */
  districtMinDevices: number;
}

/** A device as the presence rules see it. */
export interface PresenceRef extends DeviceRef {
  /**
   * The relay group the site's edge links through (a district centre's box, a
   * regional hub): its devices share one uplink, so they drop together. Null
   * for a site linking straight to the core (no correlation).
   */
  groupId: string | null;
}

export type AlertAction =
  | {
      action: 'open';
      type: PresenceAlertType;
      key: string;
      /** Null for the fleet-wide reconnect incident. */
      siteId: string | null;
      deviceId: string | null;
      severity: Exclude<AlertSeverity, 'info'>;
      details: Record<string, unknown>;
    }
  | { action: 'update'; key: string; details: Record<string, unknown> }
  | { action: 'resolve'; key: string; resolution: string };

export type RuleInput =
  | { kind: 'presence'; device: PresenceRef; online: boolean; at: number }
  /**
   * Boxes that lost their session all at once (their node died, the whole
   * fleet restarted), were given a grace to reconnect, and are still missing
   * at its end; `since` is when they dropped.
   */
  | { kind: 'late'; devices: PresenceRef[]; since: number; at: number }
  | { kind: 'tick'; at: number };

export interface PlanContext {
  /** How many devices the relay group has in all (online or not). */
  groupSize(groupId: string): number;
  /** The group's hub site (the alert's site), name and how many sites are behind it; absent: the group id is a site. */
  groupInfo?(groupId: string): { hubSiteId: string; name: string; sites: number } | undefined;
}

interface DeviceState {
  ref: PresenceRef;
  online: boolean;
  /** Times of recent transitions, oldest first, pruned to the flap window. */
  transitions: number[];
  pendingOfflineAt: number | null;
  offlineAlert: boolean;
  flapping: boolean;
  /** Offline and counted in its relay group's open incident instead of its own alert. */
  inIncident: boolean;
  /** Offline and counted in the fleet's reconnect incident instead of its own alert. */
  inReconnect: boolean;
}

interface GroupState {
  /** Devices of the relay group currently offline, with the time they dropped. */
  down: Map<string, number>;
  /** Set when the incident opens: hub site, name and size for the alert's text. */
  info: { hubSiteId: string; name: string; sites: number } | null;
  /** Members of the open outage incident, or null when there is none. */
  incident: Set<string> | null;
}

export interface RulesState {
  devices: Map<string, DeviceState>;
  groups: Map<string, GroupState>;
  /** Devices with a debounce running or flapping: the only ones a tick looks at. */
  watched: Set<string>;
  /**
   * The boxes the open reconnect incident counts as still down (late after a
   * node's death or a restart, in the order they were found missing), or
   * null when none is open. A box leaves it when it comes back: a storm
   * changes it with every box, so nothing here walks all of it per change.
   */
  reconnect: Set<string> | null;
}

export interface Plan {
  actions: AlertAction[];
  /** When the planner wants the next tick; null when nothing is pending. */
  wakeAt: number | null;
}

export const emptyRulesState = (): RulesState => ({
  devices: new Map(),
  groups: new Map(),
  watched: new Set(),
  reconnect: null,
});

export const keys = {
  offline: (deviceId: string) => `device-offline:${deviceId}`,
  flapping: (deviceId: string) => `flapping:${deviceId}`,
  // The type keeps its first name: stored alerts, webhooks and dashboards filter on it.
  group: (groupId: string) => `district-outage:${groupId}`,
  reconnect: () => 'fleet-reconnect',
};

export function planPresence(state: RulesState, input: RuleInput, cfg: RulesConfig, ctx: PlanContext): Plan {
  const actions: AlertAction[] = [];
  if (input.kind === 'presence') onPresence(state, input.device, input.online, input.at, cfg, ctx, actions);
  if (input.kind === 'late') onLate(state, input.devices, input.since, cfg, ctx, actions);
  onTick(state, input.at, cfg, actions);
  return { actions, wakeAt: nextWake(state, cfg) };
}

function onPresence(
  state: RulesState,
  ref: PresenceRef,
  online: boolean,
  at: number,
  cfg: RulesConfig,
  ctx: PlanContext,
  out: AlertAction[],
): void {
  // First sight: online is the normal start; an unseen device reported
  // offline (after a fleet restart) is a drop from an assumed online.
  const known = state.devices.has(ref.deviceId);
  const dev = deviceState(state, ref);
  if (!known && online) return;
  if (dev.online === online) return; // repeated signal (will after disconnect, birth after connect)
  dev.online = online;
  dev.transitions.push(at);
  while (dev.transitions.length > 0 && dev.transitions[0]! <= at - cfg.flapWindowMs) dev.transitions.shift();

  if (!dev.flapping && dev.transitions.length >= cfg.flapThreshold) {
    dev.flapping = true;
    state.watched.add(ref.deviceId);
    dev.pendingOfflineAt = null;
    if (dev.offlineAlert) {
      dev.offlineAlert = false;
      out.push({ action: 'resolve', key: keys.offline(ref.deviceId), resolution: 'superseded by flapping' });
    }
    out.push({
      action: 'open',
      type: 'flapping',
      key: keys.flapping(ref.deviceId),
      siteId: ref.siteId,
      deviceId: ref.deviceId,
      severity: 'warning',
      details: { transitions: dev.transitions.length, windowMs: cfg.flapWindowMs },
    });
  }

  if (online) cameBack(state, dev, at, cfg, out);
  else wentDown(state, dev, at, cfg, ctx, out);
}

/**
 * The end of a reconnect grace. A few late boxes are ordinary drops (their
 * relay groups and debounce decide, from when they dropped); from
 * districtMinDevices on they are one incident for the fleet, not one alert
 * per box: a storm that outlasted the grace is one problem. A later late
 * batch while the incident is open joins it.
 */
function onLate(
  state: RulesState,
  refs: PresenceRef[],
  since: number,
  cfg: RulesConfig,
  ctx: PlanContext,
  out: AlertAction[],
): void {
  const late = refs.filter((r) => state.devices.get(r.deviceId)?.online !== false);
  if (late.length === 0) return;
  if (late.length < cfg.districtMinDevices && state.reconnect === null) {
    for (const r of late) onPresence(state, r, false, since, cfg, ctx, out);
    return;
  }
  const opening = state.reconnect === null;
  const down = (state.reconnect ??= new Set());
  for (const ref of late) {
    const dev = deviceState(state, ref);
    dev.online = false;
    dev.transitions.push(since);
    dev.inReconnect = true;
    dev.pendingOfflineAt = null;
    if (!dev.flapping) state.watched.delete(ref.deviceId);
    down.add(ref.deviceId);
  }
  out.push(
    opening
      ? {
          action: 'open',
          type: 'fleet-reconnect',
          key: keys.reconnect(),
          siteId: null,
          deviceId: null,
          severity: 'critical',
          details: reconnectDetails(down, since),
        }
      : { action: 'update', key: keys.reconnect(), details: reconnectDetails(down, since) },
  );
}

/** The rules' state of a device, created (online) at first sight. */
function deviceState(state: RulesState, ref: PresenceRef): DeviceState {
  let dev = state.devices.get(ref.deviceId);
  if (!dev) {
    dev = {
      ref,
      online: true,
      transitions: [],
      pendingOfflineAt: null,
      offlineAlert: false,
      flapping: false,
      inIncident: false,
      inReconnect: false,
    };
    state.devices.set(ref.deviceId, dev);
  }
  dev.ref = ref;
  return dev;
}

function reconnectDetails(down: Set<string>, since?: number): Record<string, unknown> {
  return {
    devices: [...down],
    offlineCount: down.size,
    ...(since === undefined ? {} : { since: new Date(since).toISOString() }),
  };
}

/** After a member came back or left: keep the reconnect incident (updated) or close it, stragglers on their own. */
function settleReconnect(state: RulesState, at: number, cfg: RulesConfig, out: AlertAction[]): void {
  const down = state.reconnect;
  if (!down) return;
  if (down.size >= cfg.districtMinDevices) {
    out.push({ action: 'update', key: keys.reconnect(), details: reconnectDetails(down) });
    return;
  }
  const stillDown = [...down];
  state.reconnect = null;
  out.push({ action: 'resolve', key: keys.reconnect(), resolution: 'the boxes reconnected' });
  handBack(state, stillDown, at, (m) => (m.inReconnect = false));
}

/** Devices an incident lets go of while still down: each on its own now, its alert due at once. */
function handBack(state: RulesState, ids: string[], at: number, leave: (dev: DeviceState) => void): void {
  for (const id of ids) {
    const dev = state.devices.get(id)!;
    leave(dev);
    if (dev.flapping) continue;
    dev.pendingOfflineAt = at; // long past its debounce already
    state.watched.add(id);
  }
}

/**
 * A device leaves the fleet (revoked): its alerts close and it no longer
 * counts in its relay group's incident.
 */
export function forgetDevice(state: RulesState, deviceId: string, at: number, cfg: RulesConfig): Plan {
  const out: AlertAction[] = [];
  const dev = state.devices.get(deviceId);
  if (dev) {
    if (dev.offlineAlert) out.push({ action: 'resolve', key: keys.offline(deviceId), resolution: 'device revoked' });
    if (dev.flapping) out.push({ action: 'resolve', key: keys.flapping(deviceId), resolution: 'device revoked' });
    state.devices.delete(deviceId);
    state.watched.delete(deviceId);
    if (state.reconnect?.delete(deviceId)) settleReconnect(state, at, cfg, out);
    const groupId = dev.ref.groupId;
    const group = groupId === null ? undefined : state.groups.get(groupId);
    if (group && groupId !== null) {
      group.down.delete(deviceId);
      if (group.incident?.delete(deviceId)) settleIncident(state, group, groupId, at, cfg, out);
    }
  }
  return { actions: out, wakeAt: nextWake(state, cfg) };
}

function wentDown(
  state: RulesState,
  dev: DeviceState,
  at: number,
  cfg: RulesConfig,
  ctx: PlanContext,
  out: AlertAction[],
): void {
  const { deviceId, groupId } = dev.ref;
  // While a reconnect storm is one open incident, a box that drops joins it
  // (a storm's boxes come back and drop again: a CONNACK that reached them
  // too late, a keepalive a flooded node missed) instead of an alert of its
  // own; it leaves the incident when it returns, as the others do.
  if (state.reconnect !== null && !dev.flapping) {
    dev.inReconnect = true;
    dev.pendingOfflineAt = null;
    state.watched.delete(deviceId);
    state.reconnect.add(deviceId);
    out.push({ action: 'update', key: keys.reconnect(), details: reconnectDetails(state.reconnect) });
    return;
  }
  if (groupId !== null) {
    const group = groupState(state, groupId);
    group.down.set(deviceId, at);
    if (group.incident) {
      group.incident.add(deviceId);
      dev.inIncident = true;
      out.push({ action: 'update', key: keys.group(groupId), details: incidentDetails(group) });
      return;
    }
    const recent = [...group.down].filter(([, t]) => t > at - cfg.districtWindowMs).map(([id]) => id);
    const threshold = Math.max(cfg.districtMinDevices, Math.ceil(cfg.districtFraction * ctx.groupSize(groupId)));
    if (recent.length >= threshold) {
      openIncident(state, group, groupId, recent, out, ctx);
      return;
    }
  }
  if (!dev.flapping) {
    dev.pendingOfflineAt = at + cfg.offlineDebounceMs;
    state.watched.add(deviceId);
  }
}

function openIncident(
  state: RulesState,
  group: GroupState,
  groupId: string,
  members: string[],
  out: AlertAction[],
  ctx: PlanContext,
): void {
  group.incident = new Set(members);
  group.info = ctx.groupInfo?.(groupId) ?? null;
  for (const id of members) {
    const m = state.devices.get(id);
    if (!m) continue;
    m.inIncident = true;
    m.pendingOfflineAt = null;
    if (!m.flapping) state.watched.delete(id);
    if (m.offlineAlert) {
      // Folded into the incident: one alert for the relay group instead of many.
      m.offlineAlert = false;
      out.push({ action: 'resolve', key: keys.offline(id), resolution: `merged into ${keys.group(groupId)}` });
    }
  }
  out.push({
    action: 'open',
    type: 'district-outage',
    key: keys.group(groupId),
    // The hub's site: its uplink is what most likely went down.
    siteId: group.info?.hubSiteId ?? groupId,
    deviceId: null,
    severity: 'critical',
    details: incidentDetails(group),
  });
}

function cameBack(state: RulesState, dev: DeviceState, at: number, cfg: RulesConfig, out: AlertAction[]): void {
  const { deviceId, groupId } = dev.ref;
  dev.pendingOfflineAt = null;
  if (!dev.flapping) state.watched.delete(deviceId);
  if (dev.offlineAlert) {
    dev.offlineAlert = false;
    out.push({ action: 'resolve', key: keys.offline(deviceId), resolution: 'device back online' });
  }
  if (dev.inReconnect) {
    dev.inReconnect = false;
    state.reconnect?.delete(deviceId);
    settleReconnect(state, at, cfg, out);
  }
  if (groupId === null) return;
  const group = groupState(state, groupId);
  group.down.delete(deviceId);
  if (!dev.inIncident || !group.incident) return;
  dev.inIncident = false;
  settleIncident(state, group, groupId, at, cfg, out);
}

/** After a member left the incident: keep it (updated) or close it and hand stragglers their own alerts. */
function settleIncident(
  state: RulesState,
  group: GroupState,
  groupId: string,
  at: number,
  cfg: RulesConfig,
  out: AlertAction[],
): void {
  if (!group.incident) return;
  const stillDown = [...group.incident].filter((id) => state.devices.get(id)?.inIncident === true);
  if (stillDown.length >= cfg.districtMinDevices) {
    out.push({ action: 'update', key: keys.group(groupId), details: incidentDetails(group) });
    return;
  }
  // The outage is over; whoever is still down is on its own now.
  group.incident = null;
  out.push({ action: 'resolve', key: keys.group(groupId), resolution: 'relay group back online' });
  handBack(state, stillDown, at, (m) => (m.inIncident = false));
}

function onTick(state: RulesState, at: number, cfg: RulesConfig, out: AlertAction[]): void {
  for (const id of [...state.watched]) {
    const dev = state.devices.get(id);
    if (!dev) {
      state.watched.delete(id);
      continue;
    }
    if (dev.flapping) {
      const last = dev.transitions[dev.transitions.length - 1] ?? -Infinity;
      if (at - last < cfg.flapWindowMs) continue;
      dev.flapping = false;
      dev.transitions = [];
      out.push({ action: 'resolve', key: keys.flapping(id), resolution: 'stable again' });
      if (dev.online || dev.inIncident || dev.inReconnect) {
        state.watched.delete(id);
        continue;
      }
      dev.pendingOfflineAt = at;
    }
    if (dev.pendingOfflineAt !== null && dev.pendingOfflineAt <= at) {
      dev.pendingOfflineAt = null;
      state.watched.delete(id);
      if (dev.online || dev.inIncident || dev.inReconnect || dev.offlineAlert) continue;
      dev.offlineAlert = true;
      out.push({
        action: 'open',
        type: 'device-offline',
        key: keys.offline(id),
        siteId: dev.ref.siteId,
        deviceId: id,
        severity: 'warning',
        details: { since: new Date(dev.transitions[dev.transitions.length - 1] ?? at).toISOString() },
      });
    }
  }
}

function nextWake(state: RulesState, cfg: RulesConfig): number | null {
  let next: number | null = null;
  for (const id of state.watched) {
    const dev = state.devices.get(id);
    if (!dev) continue;
    const t = dev.flapping
      ? (dev.transitions[dev.transitions.length - 1] ?? 0) + cfg.flapWindowMs
      : dev.pendingOfflineAt;
    if (t !== null && (next === null || t < next)) next = t;
  }
  return next;
}

function groupState(state: RulesState, groupId: string): GroupState {
  let d = state.groups.get(groupId);
  if (!d) {
    d = { down: new Map(), incident: null, info: null };
    state.groups.set(groupId, d);
  }
  return d;
}

function incidentDetails(d: GroupState): Record<string, unknown> {
  const devices = [...(d.incident ?? [])].sort();
  const down = devices.filter((id) => d.down.has(id));
  // "The Mù Cang Chải hub's uplink is down, 14 sites behind it."
  const hub = d.info ? { relayGroup: d.info.name, hubSiteId: d.info.hubSiteId, sitesBehind: d.info.sites } : {};
  return { devices, offline: down, offlineCount: down.length, ...hub };
}
