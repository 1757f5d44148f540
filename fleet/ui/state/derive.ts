// Pure functions from the fleet's plain data to what the dashboard shows:
// a site's state, counts per group, filtering, alert order and grouping.
// No DOM and no fetch here, so fleet/test/ui/derive.test.ts checks them in Node.
import type { Alert, Device, Hierarchy, Meeting, Peripherals, PeripheralState, Site, SiteKind } from '../api/types.js';

/**
 * One state per site, the same on every page, live or reloaded:
 * - `media-only`: the box's agent is down (offline to the fleet) but its
 *   room's media still reaches the meeting (the edge's figures say so);
 * - `revoked`: the site's box was decommissioned and none replaced it;
 * - `nobox`: never had a box (none enrolled yet).
 */
export type SiteState = 'online' | 'degraded' | 'offline' | 'media-only' | 'updating' | 'meeting' | 'revoked' | 'nobox';
export const SITE_STATES: readonly SiteState[] = [
  'offline',
  'media-only',
  'degraded',
  'updating',
  'meeting',
  'online',
  'revoked',
  'nobox',
];

/** The key the grid and tree use for sites in no group (province-level bodies, sites linking straight to the core). */
export const PROVINCE = 'province';

export function peripheralProblem(d: Device): boolean {
  const p = d.peripherals;
  if (!p) return false;
  return (
    p.camera === 'missing' ||
    p.camera === 'fault' ||
    p.microphone === 'missing' ||
    p.microphone === 'fault' ||
    p.display === 'missing' ||
    p.display === 'fault'
  );
}

// The registry keeps the peripherals of the last birth; later changes arrive as
// health alerts. An open alert therefore overrides what the birth said.
const ALERT_PERIPHERAL: Record<string, [keyof Peripherals, PeripheralState]> = {
  'camera-missing': ['camera', 'missing'],
  'camera-fault': ['camera', 'fault'],
  'microphone-missing': ['microphone', 'missing'],
  'microphone-silent': ['microphone', 'fault'],
  'microphone-fault': ['microphone', 'fault'],
  'display-disconnected': ['display', 'missing'],
};

export function peripheralOverrides(alerts: readonly Alert[]): Map<string, Partial<Peripherals>> {
  const out = new Map<string, Partial<Peripherals>>();
  for (const a of alerts) {
    const hit = ALERT_PERIPHERAL[a.type];
    if (!hit || a.resolvedAt || !a.deviceId) continue;
    out.set(a.deviceId, { ...out.get(a.deviceId), [hit[0]]: hit[1] });
  }
  return out;
}

const UNKNOWN: Peripherals = { camera: 'unknown', microphone: 'unknown', display: 'unknown', gpio: 'unknown' };

export function withOverrides(
  devices: readonly Device[],
  overrides: ReadonlyMap<string, Partial<Peripherals>>,
): Device[] {
  if (overrides.size === 0) return [...devices];
  return devices.map((d) => {
    const o = overrides.get(d.id);
    return o ? { ...d, peripherals: { ...(d.peripherals ?? UNKNOWN), ...o } } : d;
  });
}

export function deviceState(d: Device, mediaUp = false): Exclude<SiteState, 'nobox' | 'revoked'> {
  if (!d.online) return mediaUp ? 'media-only' : 'offline';
  if (d.updating) return 'updating';
  if (d.inMeeting) return 'meeting';
  if (peripheralProblem(d)) return 'degraded';
  return 'online';
}

// A site with several boxes shows the worst of them: an operator must see the
// one that is down, not the one that is up.
const WORST_FIRST: readonly SiteState[] = ['offline', 'media-only', 'degraded', 'updating', 'meeting', 'online'];

/** What else is known of a site besides its live boxes. */
export interface SiteFacts {
  /** A box of the site was decommissioned. */
  revoked?: boolean;
  /** The site's media reached its meeting lately, whatever its agent says. */
  mediaUp?: boolean;
}

export function siteState(devices: readonly Device[] | undefined, facts: SiteFacts = {}): SiteState {
  if (!devices || devices.length === 0) return facts.revoked ? 'revoked' : 'nobox';
  const states = new Set<SiteState>(devices.map((d) => deviceState(d, facts.mediaUp)));
  return WORST_FIRST.find((s) => states.has(s)) ?? 'online';
}

export function devicesBySite(devices: readonly Device[]): Map<string, Device[]> {
  const out = new Map<string, Device[]>();
  for (const d of devices) {
    const list = out.get(d.siteId) ?? [];
    list.push(d);
    out.set(d.siteId, list);
  }
  return out;
}

/**
 * The groups the grid and tree show, from the hierarchy's data, never from a
 * kind's name: the dataset's relay groups (the sites behind one hub: a
 * district in 2022, a former district centre's box after 2025), or, from a
 * fleet that lists none, every top-level site with sites below it.
 */
function groupDefs(
  sites: readonly Site[],
  hierarchy?: Hierarchy | null,
): { key: string; name: string; hubId: string; members: string[] }[] {
  if (hierarchy && hierarchy.relayGroups.length > 0) {
    return hierarchy.relayGroups.map((g) => ({ key: g.id, name: g.name, hubId: g.hubSiteId, members: g.siteIds }));
  }
  const parents = new Set(sites.map((s) => s.parentId).filter((p): p is string => p !== null));
  return sites
    .filter((s) => s.parentId === null && parents.has(s.id))
    .map((s) => ({ key: s.id, name: s.name, hubId: s.id, members: [s.id] }));
}

/** Group key (PROVINCE or a group's key) of every site: the group listing it, else its nearest listed ancestor's. */
export function groupKeys(sites: readonly Site[], hierarchy?: Hierarchy | null): Map<string, string> {
  const byId = new Map(sites.map((s) => [s.id, s]));
  const listed = new Map<string, string>();
  for (const g of groupDefs(sites, hierarchy)) for (const id of g.members) listed.set(id, g.key);
  const out = new Map<string, string>();
  for (const s of sites) {
    let cur: Site | undefined = s;
    let key = PROVINCE;
    for (let hops = 0; cur && hops <= sites.length; hops++) {
      const k = listed.get(cur.id);
      if (k !== undefined) {
        key = k;
        break;
      }
      cur = cur.parentId ? byId.get(cur.parentId) : undefined;
    }
    out.set(s.id, key);
  }
  return out;
}

export interface Group {
  key: string; // PROVINCE or a group's key
  /** The group's name; null for PROVINCE (the page names it). */
  name: string | null;
  /** The hub's site, shown first and linked from the header. */
  head: Site | null;
  /** The site whose subtree is exactly this group, for group-wide actions; null when no site covers it. */
  actOn: Site | null;
  sites: Site[];
}

/** Sites in no group first, then each group (its hub, then the rest by kind and name). */
export function groupSites(sites: readonly Site[], hierarchy?: Hierarchy | null): Group[] {
  const keys = groupKeys(sites, hierarchy);
  const byId = new Map(sites.map((s) => [s.id, s]));
  // Kinds are the dataset's (GET /api/v1/hierarchy), in its order; until it has loaded, by name alone.
  const order = hierarchy?.kinds.map((k) => k.id) ?? [];
  const rank = (k: SiteKind): number => (order.includes(k) ? order.indexOf(k) : order.length);
  const groups = new Map<string, Group>();
  groups.set(PROVINCE, { key: PROVINCE, name: null, head: null, actOn: null, sites: [] });
  // Groups in the dataset's order (the province's own: city, town, then districts).
  for (const g of groupDefs(sites, hierarchy)) {
    groups.set(g.key, { key: g.key, name: g.name, head: byId.get(g.hubId) ?? null, actOn: null, sites: [] });
  }
  for (const s of sites) groups.get(keys.get(s.id) ?? PROVINCE)!.sites.push(s);
  const under = (s: Site, root: string): boolean => {
    for (
      let cur: Site | undefined = s, hops = 0;
      cur && hops <= sites.length;
      hops++, cur = cur.parentId ? byId.get(cur.parentId) : undefined
    ) {
      if (cur.id === root) return true;
    }
    return false;
  };
  for (const g of groups.values()) {
    const head = g.head;
    g.sites.sort(
      (a, b) =>
        Number(b.id === head?.id) - Number(a.id === head?.id) ||
        rank(a.kind) - rank(b.kind) ||
        a.name.localeCompare(b.name, 'vi'),
    );
    if (
      head &&
      g.sites.every((s) => under(s, head.id)) &&
      sites.filter((s) => under(s, head.id)).length === g.sites.length
    )
      g.actOn = head;
  }
  return [...groups.values()].filter((g) => g.sites.length > 0);
}

export type Counts = Record<SiteState, number> & { total: number };

export function emptyCounts(): Counts {
  return {
    online: 0,
    degraded: 0,
    offline: 0,
    'media-only': 0,
    updating: 0,
    meeting: 0,
    revoked: 0,
    nobox: 0,
    total: 0,
  };
}

/** Sites that have a box now (not never-enrolled, not decommissioned). */
export const withBox = (c: Counts): number => c.total - c.nobox - c.revoked;
/** Sites whose box is up and reporting. */
export const up = (c: Counts): number => c.online + c.degraded + c.meeting + c.updating;

export function countStates(sites: readonly Site[], states: ReadonlyMap<string, SiteState>): Counts {
  const c = emptyCounts();
  for (const s of sites) {
    c[states.get(s.id) ?? 'nobox']++;
    c.total++;
  }
  return c;
}

/** Lower case, without Vietnamese diacritics: "Mù Cang Chải" matches "mu cang chai". */
export function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'd')
    .toLowerCase();
}

export interface SiteFilter {
  group: string | null; // null = all, PROVINCE, or a group's key
  states: readonly SiteState[]; // empty = all
  kind: SiteKind | null;
  query: string;
}

export const NO_FILTER: SiteFilter = { group: null, states: [], kind: null, query: '' };

export function matchSite(site: Site, filter: SiteFilter, state: SiteState, groupKey: string): boolean {
  if (filter.group !== null && filter.group !== groupKey) return false;
  if (filter.states.length > 0 && !filter.states.includes(state)) return false;
  if (filter.kind !== null && site.kind !== filter.kind) return false;
  const q = fold(filter.query.trim());
  if (q && !fold(site.name).includes(q) && !site.id.includes(q)) return false;
  return true;
}

const isOpen = (a: Alert): boolean => !a.resolvedAt;

/** Open alerts before resolved ones; newest first within each. */
export function sortAlerts(alerts: readonly Alert[]): Alert[] {
  return [...alerts].sort((a, b) => {
    if (isOpen(a) !== isOpen(b)) return isOpen(a) ? -1 : 1;
    return Date.parse(b.openedAt) - Date.parse(a.openedAt);
  });
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * The sites of a district outage. The fleet lists the devices in the incident
 * (`details.devices`); the page shows sites, so each device is mapped to its site.
 */
export function outageSites(a: Alert, siteOfDevice: ReadonlyMap<string, string>): string[] {
  const ids = stringList(a.details?.devices)
    .map((d) => siteOfDevice.get(d))
    .filter((s): s is string => s !== undefined);
  return [...new Set([...ids, ...stringList(a.details?.sites)])];
}

export interface AlertRow {
  alert: Alert;
  /** For a district outage: the per-device alerts it stands for. */
  children: Alert[];
}

const ts = (iso: string | null | undefined): number => (iso ? Date.parse(iso) : Number.POSITIVE_INFINITY);

// A device alert the fleet merged into an outage is resolved the moment the
// outage opens, possibly a few ms before it: allow for that.
const MERGE_SLACK_MS = 5_000;
function overlaps(a: Alert, outage: Alert): boolean {
  return ts(a.openedAt) <= ts(outage.resolvedAt) && ts(a.resolvedAt) >= Date.parse(outage.openedAt) - MERGE_SLACK_MS;
}

/**
 * One row per alert, except that a district outage's per-device alerts fold
 * into the outage's row: dozens of offline rows are one incident to act on.
 * A device alert belongs to an outage when its device is in the incident and
 * their lifetimes overlap (the fleet resolves them "merged into" the outage).
 */
export function groupAlerts(alerts: readonly Alert[]): AlertRow[] {
  const sorted = sortAlerts(alerts);
  const outages: { row: AlertRow; devices: Set<string> }[] = sorted
    .filter((a) => a.type === 'district-outage')
    .map((a) => ({ row: { alert: a, children: [] }, devices: new Set(stringList(a.details?.devices)) }));
  const rows: AlertRow[] = outages.map((o) => o.row);
  for (const a of sorted) {
    if (a.type === 'district-outage') continue;
    const parent =
      a.type === 'device-offline' && a.deviceId
        ? outages.find((o) => o.devices.has(a.deviceId!) && overlaps(a, o.row.alert))
        : undefined;
    if (parent) parent.row.children.push(a);
    else rows.push({ alert: a, children: [] });
  }
  const order = new Map(sorted.map((a, i) => [a, i]));
  return rows.sort((x, y) => order.get(x.alert)! - order.get(y.alert)!);
}

export function openAlertCount(alerts: readonly Alert[]): number {
  return groupAlerts(alerts).filter((r) => isOpen(r.alert)).length;
}

/** The boxes a command for a subtree reaches: devices of the site and every site below it. */
export function devicesUnder(rootId: string, sites: readonly Site[], devices: readonly Device[]): Device[] {
  const children = new Map<string, string[]>();
  for (const s of sites) if (s.parentId) children.set(s.parentId, [...(children.get(s.parentId) ?? []), s.id]);
  const ids = new Set<string>();
  const stack = [rootId];
  while (stack.length) {
    const id = stack.pop()!;
    if (ids.has(id)) continue;
    ids.add(id);
    stack.push(...(children.get(id) ?? []));
  }
  return devices.filter((d) => ids.has(d.siteId));
}

/** Is the meeting on at `now`? The fleet's state, or its times between two refreshes. */
export function meetingLive(m: Meeting, now: number): boolean {
  if (m.endedAt || m.state === 'ended') return false;
  return m.state === 'live' || (Date.parse(m.startsAt) <= now && now < Date.parse(m.endsAt));
}

/** Sites taking part in a meeting that is on now. */
export function sitesInMeeting(meetings: readonly Meeting[] | null, now: number): Set<string> {
  const out = new Set<string>();
  for (const m of meetings ?? []) {
    if (!meetingLive(m, now)) continue;
    out.add(m.chairSiteId);
    for (const s of m.siteIds) out.add(s);
  }
  return out;
}

export interface MeetingHit {
  meeting: Meeting;
  live: boolean;
  siteIds: string[];
}

/**
 * Meetings that these sites take part in (as chair or member) that are on
 * now or start within `soonMs`: what a disruptive action would interrupt.
 * Live ones first, then by start.
 */
export function meetingsAt(
  siteIds: readonly string[],
  meetings: readonly Meeting[] | null,
  now: number,
  soonMs: number,
): MeetingHit[] {
  const wanted = new Set(siteIds);
  const out: MeetingHit[] = [];
  for (const m of meetings ?? []) {
    if (m.endedAt || m.state === 'ended') continue;
    const live = meetingLive(m, now);
    const start = Date.parse(m.startsAt);
    if (!live && !(start > now && start - now <= soonMs)) continue;
    const hit = [...new Set([m.chairSiteId, ...m.siteIds])].filter((s) => wanted.has(s));
    if (hit.length > 0) out.push({ meeting: m, live, siteIds: hit });
  }
  return out.sort(
    (a, b) => Number(b.live) - Number(a.live) || Date.parse(a.meeting.startsAt) - Date.parse(b.meeting.startsAt),
  );
}
