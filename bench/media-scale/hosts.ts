// The bench's host processes (host.ts), seen from the main process: forked
// with tsx, called over IPC by operation name, one promise per call. A host
// that exits early fails every call still waiting on it.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MediaPlan } from '@diemcau/shared';
import type { EdgeSpec, Topology } from './topology.js';
import type { Snapshot } from './timeline.js';

export interface Progress {
  /** At the core's host: rooms in the core's roster with their camera; open microphones at the core; its speaker. */
  coreSending: number | null;
  coreMics: number | null;
  speaker: string | null;
  /** This host's rooms receiving the chair's camera (the chair's own counts). */
  receivingChair: number;
  /** This host's edges that know the whole roster. */
  knowRoster: number;
}

export interface Traffic {
  id: string;
  packetsIn: number;
  packetsOut: number;
  producers: number;
  consumers: number;
}

/** Every operation a host answers: its argument and what it resolves to. */
export interface HostOps {
  start(a: {
    index: number;
    t0: number;
    coreWorkers: number;
    spanAt: number;
    packWorkers: number;
    specs: EdgeSpec[];
    echo: string;
  }): Promise<{ pid: number; edges: Record<string, { url: string; pids: number[] }> }>;
  plans(a: { plans: MediaPlan[] }): Promise<null>;
  /** `siteIds` null: every room of the host; `open` null: every microphone open. */
  produce(a: {
    siteIds: string[] | null;
    open: string[] | null;
    clip: Array<{ at: number; b64: string }>;
    ssrcBase: number;
  }): Promise<{ clipKbps: number; rooms: number }>;
  announced(a: { want: Record<string, number> }): Promise<boolean>;
  placement(a: Record<string, never>): Promise<Record<string, Array<{ pid: number | null; rooms: number }>>>;
  progress(a: { chairSiteId: string; rosterSize: number }): Promise<Progress>;
  mic(a: { siteIds: string[]; open: boolean }): Promise<null>;
  loud(a: { siteId: string | null }): Promise<null>;
  decision(a: { siteId: string; timeoutMs: number }): Promise<number | null>;
  firstPackets(a: {
    edgeId: string;
    siteId: string;
    timeoutMs: number;
  }): Promise<{ audio: number; video: number } | null>;
  traffic(a: { edgeIds: string[]; resetLag: boolean }): Promise<{ sent: number; traffic: Traffic[] }>;
  links(a: { edgeIds: string[]; allDirections: string[] }): Promise<{
    links: Record<string, number[]>;
    receiving: number;
    lag: { p50: number; p99: number; max: number };
  }>;
  timeline(a: Record<string, never>): Promise<Snapshot>;
  close(a: Record<string, never>): Promise<null>;
}

type Arg<K extends keyof HostOps> = Parameters<HostOps[K]>[0];
type Result<K extends keyof HostOps> = Awaited<ReturnType<HostOps[K]>>;

const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'host.ts');

export class Host {
  private readonly proc: ChildProcess;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private exited = false;

  constructor(readonly index: number) {
    this.proc = fork(entry, [], {
      execArgv: ['--import', 'tsx', '--no-deprecation'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.value);
      else p?.reject(new Error(`host ${index}: ${m.error}`));
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`host ${index} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  call<K extends keyof HostOps>(op: K, args: Arg<K>): Promise<Result<K>> {
    if (this.exited) return Promise.reject(new Error(`host ${this.index} has exited`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, op, args });
    });
  }

  /** Asks the host to close its edges, then ends it (killed if it does not exit within 20 s). */
  async close(): Promise<void> {
    if (this.exited) return;
    await Promise.race([this.call('close', {}).catch(() => null), new Promise((r) => setTimeout(r, 20_000))]);
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.disconnect();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

export interface Started {
  hosts: Host[];
  /** Each host's Node pid. */
  nodePids: number[];
  /** Each edge's worker pids. */
  pidsOf: Map<string, number[]>;
}

/** Forks one host per share of the topology, starts its edges, and fills in their signalling URLs. */
export async function startHosts(
  topo: Topology,
  o: { t0: number; coreWorkers: number; spanAt: number; packWorkers: number; echo: string },
  into: Host[] = [],
): Promise<Started> {
  for (let k = 0; k < topo.byHost.length; k++) into.push(new Host(k));
  const started = await Promise.all(
    into.map((h, k) =>
      h.call('start', {
        ...o,
        index: k,
        specs: topo.byHost[k]!.map(({ edgeId, siteId, kind, pool, serves, acceptToken }) => ({
          edgeId,
          siteId,
          kind,
          pool,
          serves,
          acceptToken,
        })),
      }),
    ),
  );
  const pidsOf = new Map<string, number[]>();
  started.forEach((s) => Object.entries(s.edges).forEach(([id, e]) => pidsOf.set(id, e.pids)));
  for (const n of topo.nodes) n.url = started[n.host]!.edges[n.edgeId]!.url;
  return { hosts: into, nodePids: started.map((s) => s.pid), pidsOf };
}
