// The cascade planner: given the site hierarchy, which edge runs where, and a
// meeting's participants, decide which edge hosts the meeting and how the
// others link to it. Pure: plain data in, plain data out, no I/O.
//
// The edge tree follows the network, not an administrative level: a relay
// group (from the dataset: a former district centre's box, a regional hub)
// is a set of sites whose edges link to the group's hub edge; the hub and
// every site in no group link to the core. So the province's link carries
// one copy per relay group with participants, whatever the hierarchy's depth.
//   core ← hubs and sites in no group
//   hub edge ← the other sites of its group (the core when the hub has no box)
// A meeting is hosted at the lowest node of that tree covering every
// participant, so a group's own meeting never crosses the province's link
// and a site alone stays at its own edge. Every other participant's edge
// walks up the tree to the host; the edges passed on the way relay.
import { DiemcauError, relayGroupOf, type SiteIndex } from '@diemcau/shared';

export type EdgeRole = 'host' | 'relay' | 'leaf';

/** Where the edges are: one per site that has a box, plus the province's core. */
export interface EdgeDirectory {
  coreEdgeId: string;
  /** site id → device id of the site's edge; sites without a box are absent. */
  edgeOfSite: ReadonlyMap<string, string>;
}

export interface MeetingSpec {
  id: string;
  chairSiteId: string;
  /** Participants; the chair is added when missing, duplicates are ignored. */
  siteIds: readonly string[];
}

export interface EdgePlanEntry {
  edgeId: string;
  role: EdgeRole;
  /** The participating site whose room joins at this edge; null when it only forwards. */
  localSiteId: string | null;
  upstreamEdgeId: string | null;
  downstreamEdgeIds: string[];
}

/** A pipe link between two edges, carrying every stream of the meeting once. */
export interface CascadeLink {
  upstreamEdgeId: string;
  downstreamEdgeId: string;
}

export interface CascadePlan {
  meetingId: string;
  hostEdgeId: string;
  /** Sorted by edge id, so equal inputs give byte-equal plans. */
  entries: EdgePlanEntry[];
  links: CascadeLink[];
  /** Participants, chair included, deduplicated and sorted. */
  siteIds: string[];
  /** Participants without an edge: they are in the meeting but cannot be reached yet. */
  unreachableSiteIds: string[];
}

/** The edge a site's edge links to when the meeting is hosted above it. */
function parentEdge(sites: SiteIndex, edges: EdgeDirectory, siteId: string): string {
  const group = relayGroupOf(sites, siteId);
  if (group !== null && group.hubSiteId !== siteId) {
    // A site relays through its group's hub; when the hub has no box yet it
    // goes straight to the core rather than being cut off.
    return edges.edgeOfSite.get(group.hubSiteId) ?? edges.coreEdgeId;
  }
  return edges.coreEdgeId;
}

/** The lowest edge covering every participant. */
function hostEdge(sites: SiteIndex, edges: EdgeDirectory, siteIds: readonly string[]): string {
  if (siteIds.length === 1) {
    return edges.edgeOfSite.get(siteIds[0]!) ?? edges.coreEdgeId;
  }
  const groups = new Set(siteIds.map((id) => relayGroupOf(sites, id)));
  if (groups.size === 1) {
    const only = [...groups][0];
    if (only !== null && only !== undefined) return edges.edgeOfSite.get(only.hubSiteId) ?? edges.coreEdgeId;
  }
  return edges.coreEdgeId;
}

export function planCascade(sites: SiteIndex, edges: EdgeDirectory, meeting: MeetingSpec): CascadePlan {
  const siteIds = [...new Set([meeting.chairSiteId, ...meeting.siteIds])].sort();
  const unknown = siteIds.filter((id) => !sites.byId.has(id));
  if (unknown.length > 0) {
    throw new DiemcauError('FLEET_ERR_UNKNOWN_SITE', unknown.join(', '), { details: { siteIds: unknown } });
  }
  const host = hostEdge(sites, edges, siteIds);

  const siteOfEdge = new Map([...edges.edgeOfSite].map(([site, edge]) => [edge, site]));
  const upstreamOf = new Map<string, string | null>([[host, null]]);
  const localOf = new Map<string, string>();
  const unreachable: string[] = [];

  for (const siteId of siteIds) {
    const edge = edges.edgeOfSite.get(siteId);
    if (edge === undefined) {
      unreachable.push(siteId);
      continue;
    }
    localOf.set(edge, siteId);
    // Walk up until the path meets the tree built so far (at worst the host).
    let current = edge;
    while (!upstreamOf.has(current)) {
      const site = siteOfEdge.get(current);
      const up = site === undefined ? edges.coreEdgeId : parentEdge(sites, edges, site);
      upstreamOf.set(current, up);
      current = up;
    }
  }

  const downstreamOf = new Map<string, string[]>();
  for (const [edge, up] of upstreamOf) {
    if (up === null) continue;
    const list = downstreamOf.get(up) ?? [];
    list.push(edge);
    downstreamOf.set(up, list);
  }

  const entries: EdgePlanEntry[] = [...upstreamOf.keys()].sort().map((edgeId) => {
    const upstreamEdgeId = upstreamOf.get(edgeId) ?? null;
    const downstreamEdgeIds = (downstreamOf.get(edgeId) ?? []).sort();
    const role: EdgeRole = upstreamEdgeId === null ? 'host' : downstreamEdgeIds.length > 0 ? 'relay' : 'leaf';
    return { edgeId, role, localSiteId: localOf.get(edgeId) ?? null, upstreamEdgeId, downstreamEdgeIds };
  });
  const links = entries
    .filter((e) => e.upstreamEdgeId !== null)
    .map((e) => ({ upstreamEdgeId: e.upstreamEdgeId!, downstreamEdgeId: e.edgeId }));

  return { meetingId: meeting.id, hostEdgeId: host, entries, links, siteIds, unreachableSiteIds: unreachable };
}

/** Links an edge holds in a plan (its upstream plus its downstreams): the unit of capacity. */
export function linkLoad(entry: EdgePlanEntry): number {
  return entry.downstreamEdgeIds.length + (entry.upstreamEdgeId === null ? 0 : 1);
}
