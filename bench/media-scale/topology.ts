// The seeds' network split over several bench processes ("hosts"), each with
// its own mediasoup workers and RTP port range: 211 edges' Node side in one
// process starved its event loop on this shared machine (links timed out),
// where a real network has one edge per box. Host 0 runs the core and the 28
// province-level sites; each district goes, with its communes, to the host
// with the fewest edges so far (largest district first). Which host an edge
// is on changes nothing but where its Node side runs: links between edges of
// two hosts are the same HTTP signalling and SRTP pipes as within one.
import { randomBytes } from 'node:crypto';
import type { RosterSite } from './roster.js';

export type Kind = 'core' | 'province' | 'district' | 'commune';
export type Pool = 'core' | 'largest relay' | 'packed';

/** What a host is told to start for one edge (plain data: it crosses to the host process). */
export interface EdgeSpec {
  edgeId: string;
  /** '' for the core (it has no room of its own). */
  siteId: string;
  kind: Kind;
  /** Which of its host's worker pools the edge runs on. */
  pool: Pool;
  /** The core and the districts serve the cascade's signalling. */
  serves: boolean;
  acceptToken: string;
}

export interface TopoNode extends EdgeSpec {
  host: number;
  parent: TopoNode | null;
  children: TopoNode[];
  /** Its signalling URL once its host started it ('' for a leaf). */
  url: string;
}

export interface Topology {
  nodes: TopoNode[];
  core: TopoNode;
  /** The district with the most communes (the largest relay, on a worker of its own). */
  largest: TopoNode;
  /** The edges of each host, parents before children. */
  byHost: TopoNode[][];
}

const token = (): string => randomBytes(24).toString('base64url');

export function buildTopology(roster: RosterSite[], hosts: number): Topology {
  const communes = (d: RosterSite): RosterSite[] => roster.filter((s) => s.parentId === d.id);
  const districts = roster.filter((s) => s.kind === 'district').sort((a, b) => communes(b).length - communes(a).length);
  const byHost: TopoNode[][] = Array.from({ length: hosts }, () => []);
  const nodes: TopoNode[] = [];
  const add = (siteId: string, kind: Kind, parent: TopoNode | null, host: number, pool: Pool): TopoNode => {
    const n: TopoNode = {
      edgeId: siteId || 'core',
      siteId,
      kind,
      pool,
      serves: kind === 'core' || kind === 'district',
      acceptToken: token(),
      host,
      parent,
      children: [],
      url: '',
    };
    parent?.children.push(n);
    nodes.push(n);
    byHost[host]!.push(n);
    return n;
  };
  const core = add('', 'core', null, 0, 'core');
  for (const s of roster.filter((x) => x.parentId === null && x.kind !== 'district'))
    add(s.id, 'province', core, 0, 'packed');
  let largest: TopoNode | null = null;
  for (const d of districts) {
    const host = byHost.reduce((best, list, k) => (list.length < byHost[best]!.length ? k : best), 0);
    const dn = add(d.id, 'district', core, host, largest ? 'packed' : 'largest relay');
    largest ??= dn;
    for (const c of communes(d)) add(c.id, 'commune', dn, host, 'packed');
  }
  return { nodes, core, largest: largest!, byHost };
}

/** RTP ports of host `k`: its pools' slices, then a range per packed edge (see host.ts). */
export const HOST_PORT_STRIDE = 5000;
export const hostPortBase = (k: number): number => 20000 + HOST_PORT_STRIDE * k;
