// The seeds' network: the Yên Bái 2022 roster (28 province-level sites, 9
// districts, 173 communes under their districts) and each edge's media plan
// for one meeting of all of them (the bench's own, not the fleet's planner).
// How the edges are spread over processes and workers: topology.ts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MediaMeeting, MediaPlan } from '@diemcau/shared';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RosterSite {
  id: string;
  kind: string;
  parentId: string | null;
}

export function loadRoster(): RosterSite[] {
  const data = JSON.parse(fs.readFileSync(path.join(root, 'fleet/datasets/yen-bai-2022.json'), 'utf8')) as {
    sites: RosterSite[];
  };
  return data.sites;
}

/** What a plan needs of an edge and its neighbours (Node here, TopoNode in topology.ts). */
export interface PlanNode {
  edgeId: string;
  siteId: string;
  url: string;
  acceptToken: string;
  parent: PlanNode | null;
  children: PlanNode[];
}

function subtree(n: PlanNode): string[] {
  return [...(n.siteId ? [n.siteId] : []), ...n.children.flatMap(subtree)];
}

/** Each edge's plan for the meeting: its upstream, the edges below it and the sites each may bring. */
export function planFor(n: PlanNode, meetingId: string, chairSiteId: string): MediaPlan {
  const meeting: MediaMeeting = {
    meetingId,
    title: meetingId,
    role: n.parent === null ? 'host' : n.children.length ? 'relay' : 'leaf',
    upstream: n.parent ? { edgeId: n.parent.edgeId, signalUrl: n.parent.url, linkToken: n.parent.acceptToken } : null,
    acceptToken: n.children.length ? n.acceptToken : null,
    downstream: n.children.map((c) => ({ edgeId: c.edgeId, addresses: ['127.0.0.1'], siteIds: subtree(c) })),
    localSiteId: n.siteId || null,
    chairSiteId,
    // Which microphones are open is the replayer's choice (it pauses and resumes them at their source).
    floorSiteId: null,
    rollCallSiteId: null,
    mutedAll: false,
    state: 'live',
  };
  return { v: 1, revision: 1, edgeId: n.edgeId, meetings: [meeting] };
}
