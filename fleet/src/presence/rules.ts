// Alert rules for presence: a planner over plain data. Given the rule state,
// one input (a presence change or a clock tick) and the config, it says which
// alerts to open, update or resolve and when it next needs a tick. It does no
// I/O and reads no clock, so every rule is tested without a network.
//
// The state is a plain object the caller owns and passes back each time; the
// planner updates it in place rather than copying it, because at 10,000
// devices a copy per presence change would cost more than the rules do.

export interface RulesConfig {
  /** An offline shorter than this opens no alert (a restart, a blip). Short: crash → alert must stay ~1 s. */
  offlineDebounceMs: number;
  /** Transitions are counted over this window for flapping; a flapping device is calm again after it. */
  flapWindowMs: number;
  /** This many transitions inside the window make a device flapping. */
  flapThreshold: number;
  /** Drops of one district's devices within this window are correlated. */
  districtWindowMs: number;
  /** Share of a district's devices that must drop for a district-outage incident... */
  districtFraction: number;
  /** ...and never fewer devices than this. */
  districtMinDevices: number;
}

export interface DeviceRef {
  deviceId: string;
  siteId: string;
  /** The district the site belongs to; null for province-level sites (no correlation). */
  districtId: string | null;
}

export type AlertType = 'device-offline' | 'flapping' | 'district-outage';

export type AlertAction =
  | {
      action: 'open';
      type: AlertType;
      key: string;
      siteId: string;
      deviceId: string | null;
      severity: 'warning' | 'critical';
      details: Record<string, unknown>;
    }
  | { action: 'update'; key: string; details: Record<string, unknown> }
  | { action: 'resolve'; key: string; resolution: string };

export type RuleInput =
  | { kind: 'presence'; device: DeviceRef; online: boolean; at: number }
  | { kind: 'tick'; at: number };

export interface PlanContext {
  /** How many devices the district has in all (online or not). */
  districtSize(districtId: string): number;
}

interface DeviceState {
  ref: DeviceRef;
  online: boolean;
  /** Times of recent transitions, oldest first, pruned to the flap window. */
  transitions: number[];
  pendingOfflineAt: number | null;
  offlineAlert: boolean;
  flapping: boolean;
  /** Offline and counted in its district's open incident instead of its own alert. */
  inIncident: boolean;
}

interface DistrictState {
  /** Devices of the district currently offline, with the time they dropped. */
  down: Map<string, number>;
  /** Members of the open district-outage incident, or null when there is none. */
  incident: Set<string> | null;
}

export interface RulesState {
  devices: Map<string, DeviceState>;
  districts: Map<string, DistrictState>;
  /** Devices with a debounce running or flapping: the only ones a tick looks at. */
  watched: Set<string>;
}

export interface Plan {
  actions: AlertAction[];
  /** When the planner wants the next tick; null when nothing is pending. */
  wakeAt: number | null;
}

export const emptyRulesState = (): RulesState => ({ devices: new Map(), districts: new Map(), watched: new Set() });

export const keys = {
  offline: (deviceId: string) => `device-offline:${deviceId}`,
  flapping: (deviceId: string) => `flapping:${deviceId}`,
  district: (districtId: string) => `district-outage:${districtId}`,
};

export function planPresence(state: RulesState, input: RuleInput, cfg: RulesConfig, ctx: PlanContext): Plan {
  const actions: AlertAction[] = [];
  if (input.kind === 'presence') onPresence(state, input.device, input.online, input.at, cfg, ctx, actions);
  onTick(state, input.at, cfg, actions);
  return { actions, wakeAt: nextWake(state, cfg) };
}

function onPresence(
  state: RulesState,
  ref: DeviceRef,
  online: boolean,
  at: number,
  cfg: RulesConfig,
  ctx: PlanContext,
  out: AlertAction[],
): void {
  let dev = state.devices.get(ref.deviceId);
  if (!dev) {
    // First sight. Online is the normal start; an unseen device reported
    // offline (after a fleet restart) is a drop from an assumed online.
    dev = { ref, online: true, transitions: [], pendingOfflineAt: null, offlineAlert: false, flapping: false, inIncident: false };
    state.devices.set(ref.deviceId, dev);
    if (online) return;
  }
  dev.ref = ref;
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
 * A device leaves the fleet (revoked): its alerts close and it no longer
 * counts in its district's incident.
 */
export function forgetDevice(state: RulesState, deviceId: string, at: number, cfg: RulesConfig): Plan {
  const out: AlertAction[] = [];
  const dev = state.devices.get(deviceId);
  if (dev) {
    if (dev.offlineAlert) out.push({ action: 'resolve', key: keys.offline(deviceId), resolution: 'device revoked' });
    if (dev.flapping) out.push({ action: 'resolve', key: keys.flapping(deviceId), resolution: 'device revoked' });
    state.devices.delete(deviceId);
    state.watched.delete(deviceId);
    const districtId = dev.ref.districtId;
    const district = districtId === null ? undefined : state.districts.get(districtId);
    if (district && districtId !== null) {
      district.down.delete(deviceId);
      if (district.incident?.delete(deviceId)) settleIncident(state, district, districtId, at, cfg, out);
    }
  }
  return { actions: out, wakeAt: nextWake(state, cfg) };
}

function wentDown(state: RulesState, dev: DeviceState, at: number, cfg: RulesConfig, ctx: PlanContext, out: AlertAction[]): void {
  const { deviceId, districtId } = dev.ref;
  if (districtId !== null) {
    const district = districtState(state, districtId);
    district.down.set(deviceId, at);
    if (district.incident) {
      district.incident.add(deviceId);
      dev.inIncident = true;
      out.push({ action: 'update', key: keys.district(districtId), details: incidentDetails(district) });
      return;
    }
    const recent = [...district.down].filter(([, t]) => t > at - cfg.districtWindowMs).map(([id]) => id);
    const threshold = Math.max(cfg.districtMinDevices, Math.ceil(cfg.districtFraction * ctx.districtSize(districtId)));
    if (recent.length >= threshold) {
      openIncident(state, district, districtId, recent, out);
      return;
    }
  }
  if (!dev.flapping) {
    dev.pendingOfflineAt = at + cfg.offlineDebounceMs;
    state.watched.add(deviceId);
  }
}

function openIncident(state: RulesState, district: DistrictState, districtId: string, members: string[], out: AlertAction[]): void {
  district.incident = new Set(members);
  for (const id of members) {
    const m = state.devices.get(id);
    if (!m) continue;
    m.inIncident = true;
    m.pendingOfflineAt = null;
    if (!m.flapping) state.watched.delete(id);
    if (m.offlineAlert) {
      // Folded into the incident: one alert for the district instead of many.
      m.offlineAlert = false;
      out.push({ action: 'resolve', key: keys.offline(id), resolution: `merged into ${keys.district(districtId)}` });
    }
  }
  out.push({
    action: 'open',
    type: 'district-outage',
    key: keys.district(districtId),
    siteId: districtId,
    deviceId: null,
    severity: 'critical',
    details: incidentDetails(district),
  });
}

function cameBack(state: RulesState, dev: DeviceState, at: number, cfg: RulesConfig, out: AlertAction[]): void {
  const { deviceId, districtId } = dev.ref;
  dev.pendingOfflineAt = null;
  if (!dev.flapping) state.watched.delete(deviceId);
  if (dev.offlineAlert) {
    dev.offlineAlert = false;
    out.push({ action: 'resolve', key: keys.offline(deviceId), resolution: 'device back online' });
  }
  if (districtId === null) return;
  const district = districtState(state, districtId);
  district.down.delete(deviceId);
  if (!dev.inIncident || !district.incident) return;
  dev.inIncident = false;
  settleIncident(state, district, districtId, at, cfg, out);
}

/** After a member left the incident: keep it (updated) or close it and hand stragglers their own alerts. */
function settleIncident(state: RulesState, district: DistrictState, districtId: string, at: number, cfg: RulesConfig, out: AlertAction[]): void {
  if (!district.incident) return;
  const stillDown = [...district.incident].filter((id) => state.devices.get(id)?.inIncident === true);
  if (stillDown.length >= cfg.districtMinDevices) {
    out.push({ action: 'update', key: keys.district(districtId), details: incidentDetails(district) });
    return;
  }
  // The outage is over; whoever is still down is on its own now.
  district.incident = null;
  out.push({ action: 'resolve', key: keys.district(districtId), resolution: 'district back online' });
  for (const id of stillDown) {
    const m = state.devices.get(id)!;
    m.inIncident = false;
    if (m.flapping) continue;
    m.pendingOfflineAt = at; // long past its debounce already
    state.watched.add(id);
  }
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
      if (dev.online || dev.inIncident) {
        state.watched.delete(id);
        continue;
      }
      dev.pendingOfflineAt = at;
    }
    if (dev.pendingOfflineAt !== null && dev.pendingOfflineAt <= at) {
      dev.pendingOfflineAt = null;
      state.watched.delete(id);
      if (dev.online || dev.inIncident || dev.offlineAlert) continue;
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
    const t = dev.flapping ? (dev.transitions[dev.transitions.length - 1] ?? 0) + cfg.flapWindowMs : dev.pendingOfflineAt;
    if (t !== null && (next === null || t < next)) next = t;
  }
  return next;
}

function districtState(state: RulesState, districtId: string): DistrictState {
  let d = state.districts.get(districtId);
  if (!d) {
    d = { down: new Map(), incident: null };
    state.districts.set(districtId, d);
  }
  return d;
}

function incidentDetails(d: DistrictState): Record<string, unknown> {
  const devices = [...(d.incident ?? [])].sort();
  const down = devices.filter((id) => d.down.has(id));
  return { devices, offline: down, offlineCount: down.length };
}
