// The rollout planner: pure functions over plain data, tested without a
// network. assignRings() splits a subtree's devices into rings that follow
// the network (relay groups: hubs first, then each group) or any subtree; planRollout() decides, at one moment, who is told to
// update next, who has gone silent, and whether the rollout must stop.
import { relayGroupOf, subtreeIds, type SiteIndex } from '@diemcau/shared';
import type { DeviceRef } from '../devices/device-ref.js';
import type { RingProgress, RolloutDevice, RolloutSpec, RolloutState, Window } from './rollout-model.js';

/**
 * Each device of the rollout's subtree lands in the first ring whose
 * selector matches its site; devices no ring selects are left out (a spec
 * without a 'rest' ring covers only what it names).
 */
export function assignRings(spec: RolloutSpec, index: SiteIndex, devices: readonly DeviceRef[]): RolloutDevice[] {
  const inScope = spec.rootSiteId ? new Set(subtreeIds(index, spec.rootSiteId)) : null;
  const out: RolloutDevice[] = [];
  const hubs = new Set(index.relayGroups.map((g) => g.hubSiteId));
  const subtrees = new Map<string, Set<string>>();
  const subtree = (id: string): Set<string> => {
    let s = subtrees.get(id);
    if (!s) subtrees.set(id, (s = new Set(subtreeIds(index, id))));
    return s;
  };
  for (const d of [...devices].sort(
    (a, b) => a.siteId.localeCompare(b.siteId) || a.deviceId.localeCompare(b.deviceId),
  )) {
    if (inScope && !inScope.has(d.siteId)) continue;
    const ring = spec.rings.findIndex((r) => {
      switch (r.select.kind) {
        case 'sites':
          return r.select.siteIds.includes(d.siteId);
        case 'relay-group':
          return relayGroupOf(index, d.siteId)?.id === r.select.groupId;
        case 'relay-hubs':
          return hubs.has(d.siteId);
        case 'subtree':
          return subtree(r.select.siteId).has(d.siteId);
        case 'district': {
          const g = relayGroupOf(index, d.siteId);
          return g !== null && (g.hubSiteId === r.select.districtId || g.id === r.select.districtId);
        }
        case 'rest':
          return true;
      }
    });
    if (ring >= 0) out.push({ ...d, ring, state: 'pending', dispatchedAt: null, lastReportAt: null, reason: null });
  }
  return out;
}

export interface PlanInput {
  spec: RolloutSpec;
  state: RolloutState;
  devices: readonly RolloutDevice[];
  /** Devices connected now; offline ones are not told to update (they would only time out). */
  online: ReadonlySet<string>;
  /** Sites with a meeting live now or starting within spec.meetingLeadMin. */
  busySites: ReadonlySet<string>;
  now: number;
}

export interface RolloutPlan {
  /** Set their desired release now. */
  dispatch: string[];
  /** In flight but silent past the timeout: count as failed. */
  timedOut: string[];
  /** Would be dispatched but their site is busy with a meeting. */
  skippedBusy: string[];
  /** The state the rollout should be in after this plan. */
  state: RolloutState;
  /** Why it stopped (abort) or what it waits for. */
  reason: string | null;
  /** The ring being rolled out (index), or null when done. */
  currentRing: number | null;
  insideWindow: boolean;
}

export function planRollout(input: PlanInput): RolloutPlan {
  const { spec, now } = input;
  const silentMs = spec.silentTimeoutMin * 60_000;
  const timedOut = input.devices
    .filter((d) => d.state === 'in-flight' && now - Math.max(d.dispatchedAt ?? 0, d.lastReportAt ?? 0) > silentMs)
    .map((d) => d.deviceId);
  const gone = new Set(timedOut);
  // The rest of the plan sees the timed-out devices as failed already.
  const devices = input.devices.map((d) =>
    gone.has(d.deviceId) ? { ...d, state: 'failed' as const, reason: 'silent' } : d,
  );
  const insideWindow = inWindows(spec.windows, spec.utcOffsetMin, now);
  const base = { timedOut, dispatch: [] as string[], skippedBusy: [] as string[], insideWindow };

  if (input.state === 'aborted' || input.state === 'completed') {
    return { ...base, state: input.state, reason: null, currentRing: null };
  }
  const abort = abortReason(spec, devices);
  if (abort) return { ...base, state: 'aborted', reason: abort, currentRing: null };

  // The current ring is the first with devices still to finish. Offline
  // pending devices do not hold a ring back: they are picked up whenever
  // they come back, even while a later ring is running.
  const unfinished = (d: RolloutDevice): boolean =>
    d.state === 'in-flight' || (d.state === 'pending' && input.online.has(d.deviceId));
  const currentRing = spec.rings.findIndex((_, i) => devices.some((d) => d.ring === i && unfinished(d)));
  if (devices.every((d) => d.state === 'succeeded' || d.state === 'failed' || d.state === 'skipped')) {
    return { ...base, state: 'completed', reason: null, currentRing: null };
  }
  if (currentRing < 0) {
    return { ...base, state: input.state, reason: 'waiting for offline devices', currentRing: null };
  }
  if (input.state === 'paused') return { ...base, state: 'paused', reason: null, currentRing };
  if (!insideWindow) return { ...base, state: 'running', reason: 'outside maintenance windows', currentRing };

  // Capacity is the current ring's: earlier stragglers coming back online count against it.
  const ring = spec.rings[currentRing]!;
  let room = ring.maxInFlight - devices.filter((d) => d.state === 'in-flight').length;
  const dispatch: string[] = [];
  const skippedBusy: string[] = [];
  const candidates = devices.filter(
    (d) => d.state === 'pending' && d.ring <= currentRing && input.online.has(d.deviceId),
  );
  for (const d of candidates.sort((a, b) => a.ring - b.ring)) {
    if (input.busySites.has(d.siteId)) {
      skippedBusy.push(d.deviceId);
      continue;
    }
    if (room <= 0) continue;
    dispatch.push(d.deviceId);
    room--;
  }
  return { ...base, dispatch, skippedBusy, state: 'running', reason: null, currentRing };
}

/** The first abort criterion met, per ring or over the whole rollout; null when none. */
export function abortReason(spec: RolloutSpec, devices: readonly RolloutDevice[]): string | null {
  const { maxFailureRate, minDevices } = spec.abort;
  const check = (label: string, group: readonly RolloutDevice[]): string | null => {
    const failed = group.filter((d) => d.state === 'failed').length;
    const finished = failed + group.filter((d) => d.state === 'succeeded').length;
    if (finished >= minDevices && failed / finished > maxFailureRate) {
      return `${label}: ${failed} of ${finished} finished devices failed (limit ${Math.round(maxFailureRate * 100)}% over at least ${minDevices})`;
    }
    return null;
  };
  for (let i = 0; i < spec.rings.length; i++) {
    const r = check(
      `ring ${spec.rings[i]!.name}`,
      devices.filter((d) => d.ring === i),
    );
    if (r) return r;
  }
  return check('rollout', devices);
}

export function ringProgress(spec: RolloutSpec, devices: readonly RolloutDevice[]): RingProgress[] {
  return spec.rings.map((r, ring) => {
    const mine = devices.filter((d) => d.ring === ring);
    const count = (s: RolloutDevice['state']): number => mine.filter((d) => d.state === s).length;
    return {
      ring,
      name: r.name,
      total: mine.length,
      pending: count('pending'),
      inFlight: count('in-flight'),
      succeeded: count('succeeded'),
      failed: count('failed'),
      skipped: count('skipped'),
    };
  });
}

/** True when `now` falls in one of the windows (or there are none). */
export function inWindows(windows: readonly Window[], utcOffsetMin: number, now: number): boolean {
  if (windows.length === 0) return true;
  const local = new Date(now + utcOffsetMin * 60_000);
  const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
  const day = local.getUTCDay();
  const toMin = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  return windows.some((w) => {
    const start = toMin(w.start);
    const end = toMin(w.end);
    if (start <= end) return (!w.days || w.days.includes(day)) && minute >= start && minute < end;
    // Wraps past midnight: the part after midnight belongs to the day the window opened.
    if (minute >= start) return !w.days || w.days.includes(day);
    return minute < end && (!w.days || w.days.includes((day + 6) % 7));
  });
}
