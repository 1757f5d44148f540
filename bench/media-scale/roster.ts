// The seeds' network as real edges in one process: the province's core, and
// one edge per site of the Yên Bái 2022 roster (28 province-level sites and 9
// districts under the core, 173 communes under their districts). Every edge is
// the shipped Edge class with its own router for the meeting; they are packed:
// the core runs its own workers, the largest relay its own worker (so its
// figures are its own), and every other edge shares one pool of workers
// (least-loaded placement), each edge with its own RTP port range on them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { MediaMeeting, MediaPlan } from '@diemcau/shared';
import { MediaWorkers } from '../../appliance/src/media/adapter/index.js';
import type { PeerLimits } from '../../appliance/src/media/limits.js';
import { Edge } from '../../appliance/src/media/edge.js';
import { SignalServer } from '../../appliance/src/media/server.js';
import { token } from '../../appliance/test/media/helpers.js';

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

export interface Node {
  edgeId: string;
  /** '' for the core (it has no room of its own). */
  siteId: string;
  kind: 'core' | 'province' | 'district' | 'commune';
  parent: Node | null;
  children: Node[];
  edge: Edge;
  server: SignalServer | null;
  url: string;
  acceptToken: string;
  /** Which worker pool it runs on, for the report. */
  pool: 'core' | 'largest relay' | 'packed';
}

export interface Network {
  core: Node;
  nodes: Node[];
  /** The district with the most communes. */
  largest: Node;
  pools: { core: MediaWorkers; largest: MediaWorkers; packed: MediaWorkers };
  close(): Promise<void>;
}

export interface NetworkOptions {
  coreWorkers: number;
  packedWorkers: number;
  spanAt: number;
  log: Logger;
  limits: PeerLimits;
}

/** Starts the core, then every site's edge; relays serve the cascade's HTTP signalling. */
export async function startNetwork(roster: RosterSite[], o: NetworkOptions): Promise<Network> {
  const communes = (d: RosterSite): number => roster.filter((s) => s.parentId === d.id).length;
  const districts = roster.filter((s) => s.kind === 'district').sort((a, b) => communes(b) - communes(a));
  const largestId = districts[0]!.id;
  // Port plan: the core 20000-20999, the largest relay 21000-21199, the packed pool's own slice
  // 21200-21299 (its browsers' WebRtcServer), then a range per packed edge from 22000.
  const core = await MediaWorkers.start({
    rtcMinPort: 20000,
    rtcMaxPort: 20999,
    workers: o.coreWorkers,
    spanAt: o.spanAt,
    logLevel: 'none',
  });
  const largest = await MediaWorkers.start({ rtcMinPort: 21000, rtcMaxPort: 21199, workers: 1, logLevel: 'none' });
  const packed = await MediaWorkers.start({
    rtcMinPort: 21200,
    rtcMaxPort: 21299,
    workers: o.packedWorkers,
    logLevel: 'none',
  });
  const pools = { core, largest, packed };
  const nodes: Node[] = [];
  let nextPorts = 22000;
  const start = async (edgeId: string, siteId: string, kind: Node['kind'], parent: Node | null): Promise<Node> => {
    const pool: Node['pool'] = kind === 'core' ? 'core' : edgeId === largestId ? 'largest relay' : 'packed';
    // A relay needs a port per downstream link; a leaf its link, its room's input and a tap.
    const width = kind === 'district' ? 40 : 12;
    const worker =
      pool === 'core'
        ? { shared: core }
        : pool === 'largest relay'
          ? { shared: largest }
          : { shared: packed, ports: { min: nextPorts, max: nextPorts + width - 1 } };
    if (pool === 'packed') nextPorts += width;
    const edge = await Edge.start({
      edgeId,
      role: kind === 'core' ? 'core' : 'site',
      listen: { listenIp: '127.0.0.1' },
      capture: null,
      ffmpegBin: 'ffmpeg',
      worker,
      log: o.log,
      limits: o.limits,
      tapAllow: '127.0.0.1',
    });
    let server: SignalServer | null = null;
    let url = '';
    if (kind === 'core' || kind === 'district') {
      server = new SignalServer({
        edge,
        adminToken: token() + token(),
        joinToken: token() + token(),
        host: '127.0.0.1',
        port: 0,
        log: o.log,
      });
      url = await server.listen();
    }
    const node: Node = {
      edgeId,
      siteId,
      kind,
      parent,
      children: [],
      edge,
      server,
      url,
      acceptToken: token() + token(),
      pool,
    };
    parent?.children.push(node);
    nodes.push(node);
    return node;
  };
  const coreNode = await start('core', '', 'core', null);
  for (const s of roster.filter((x) => x.parentId === null && x.kind !== 'district'))
    await start(s.id, s.id, 'province', coreNode);
  const byId = new Map<string, Node>();
  for (const d of districts) byId.set(d.id, await start(d.id, d.id, 'district', coreNode));
  for (const s of roster.filter((x) => x.kind === 'commune'))
    await start(s.id, s.id, 'commune', byId.get(s.parentId!)!);
  return {
    core: coreNode,
    nodes,
    largest: byId.get(largestId)!,
    pools,
    close: async () => {
      for (const n of [...nodes].reverse()) {
        await n.server?.close();
        await n.edge.close();
      }
      for (const p of Object.values(pools)) p.close();
    },
  };
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
