// Derived views of the snapshot that several pages need, computed once per change.
import { useMemo } from 'preact/hooks';
import type { Device, Site } from '../api/types.js';
import type { Lang } from '../i18n/i18n.js';
import { en } from '../i18n/en.js';
import { vi } from '../i18n/vi.js';
import {
  devicesBySite,
  groupKeys,
  PROVINCE,
  groupSites,
  peripheralOverrides,
  siteState,
  sitesInMeeting,
  withOverrides,
  type Group,
  type SiteState,
} from './derive.js';
import { useNow, useSnapshot } from './hooks.js';

export interface FleetModel {
  sites: Site[];
  devices: Device[];
  siteById: Map<string, Site>;
  deviceById: Map<string, Device>;
  siteOfDevice: Map<string, string>;
  bySite: Map<string, Device[]>;
  states: Map<string, SiteState>;
  /** Group key (a relay group's id, or PROVINCE) of every site. */
  groupOf: Map<string, string>;
  groups: Group[];
  /** Site kinds in the dataset's order (those of the sites when the fleet sends none). */
  kinds: string[];
  /** A kind's label from the dataset, else the page's own, else the id. */
  kindLabel(kind: string, lang: Lang): string;
  /** The name of the area an area operator sees (its root site), null for the whole province. */
  areaName: string | null;
  /** Sites whose "call the province" button was pressed and nobody has called back yet. */
  helpSites: Set<string>;
}

// Longer than the page's once-a-minute refresh of meetings, so a site does not flicker between refreshes.
const MEDIA_FRESH_MS = 90_000;

export function useFleetModel(): FleetModel {
  const snap = useSnapshot();
  const { sites, alerts } = snap;
  const overrides = useMemo(() => peripheralOverrides(alerts), [alerts]);
  const helpSites = useMemo(
    () => new Set(alerts.filter((a) => a.type === 'help-requested' && !a.resolvedAt && a.siteId).map((a) => a.siteId!)),
    [alerts],
  );
  const now = useNow(30_000);
  const meetingSites = useMemo(() => sitesInMeeting(snap.meetings, now), [snap.meetings, now]);
  const devices = useMemo(
    () =>
      withOverrides(snap.devices, overrides).map((d) =>
        meetingSites.has(d.siteId) || snap.updating.has(d.id)
          ? { ...d, inMeeting: meetingSites.has(d.siteId), updating: snap.updating.has(d.id) }
          : d,
      ),
    [snap.devices, overrides, meetingSites, snap.updating],
  );
  const hierarchy = snap.hierarchy;
  // An area operator's page is about the area: its sites in no group are the area's, not the province's.
  const areaRoot = snap.operator?.districtId ?? null;
  const structure = useMemo(() => {
    const labels = new Map((hierarchy?.kinds ?? []).map((k) => [k.id, k.label]));
    const areaName = areaRoot ? (sites.find((s) => s.id === areaRoot)?.name ?? null) : null;
    const kinds = hierarchy?.kinds.map((k) => k.id) ?? [...new Set(sites.map((s) => s.kind))];
    const kindLabel = (kind: string, lang: Lang): string => {
      const own = (lang === 'vi' ? vi : en) as Record<string, string>;
      return labels.get(kind)?.[lang] ?? own[`kind.${kind}`] ?? kind;
    };
    return {
      siteById: new Map(sites.map((s) => [s.id, s])),
      groupOf: groupKeys(sites, hierarchy),
      groups: groupSites(sites, hierarchy).map((g) => (g.key === PROVINCE && areaName ? { ...g, name: areaName } : g)),
      areaName,
      kinds,
      kindLabel,
    };
  }, [sites, hierarchy, areaRoot]);
  return useMemo(() => {
    const bySite = devicesBySite(devices);
    // Media seen lately counts as flowing: the edges report every few seconds, the page asks once a minute.
    const mediaUp = (id: string): boolean => {
      const at = snap.mediaSeen.get(id);
      return at !== undefined && now - Date.parse(at) < MEDIA_FRESH_MS && meetingSites.has(id);
    };
    const states = new Map(
      sites.map((s) => [
        s.id,
        siteState(bySite.get(s.id), { revoked: snap.revokedSites.has(s.id), mediaUp: mediaUp(s.id) }),
      ]),
    );
    return {
      sites,
      devices,
      ...structure,
      bySite,
      states,
      helpSites,
      deviceById: new Map(devices.map((d) => [d.id, d])),
      siteOfDevice: new Map(devices.map((d) => [d.id, d.siteId])),
    };
  }, [sites, devices, structure, helpSites, snap.revokedSites, snap.mediaSeen, now, meetingSites]);
}

/**
 * Short name for a tile: "Xã"/"Phường" go, since the section already says so.
 * "Thị trấn" stays: a township often shares its district's name.
 */
export function shortName(name: string): string {
  return name.replace(/^(Xã|Phường)\s+/u, '');
}

/** A group's name without "Huyện", "Thị xã", "Thành phố", "Cụm", for the narrow tree. */
export function districtShort(name: string): string {
  return name.replace(/^(Huyện|Thị xã|Thành phố|Cụm)\s+/u, '');
}
