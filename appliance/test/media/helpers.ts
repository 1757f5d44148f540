// Helpers for media tests and the media bench: edges as separate processes
// (started as `npm run edge` would start them), plans built with small
// builders, and a plain RTP receiver (ffmpeg reading a tap's SDP).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { MediaDownstream, MediaMeeting, MediaPlan, MediaStats } from '@diemcau/shared';
import { runToExit, type Exited } from '../../../shared/test/helpers/program.js';
import { signalCall } from '../../src/media/signal-client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(root, 'appliance/src/media/main.ts');

export const token = (): string => randomBytes(18).toString('base64url');

export interface EdgeProc {
  edgeId: string;
  url: string;
  adminToken: string;
  /** The browsers' token (browser-peer routes only). */
  joinToken: string;
  proc: ChildProcess;
  workerPid: number;
  /** Last log lines, for failure messages. */
  logs: string[];
  api<T = unknown>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }>;
  plan(plan: MediaPlan): Promise<void>;
  streams(
    meetingId: string,
  ): Promise<
    Array<{ id: string; kind: string; siteId: string; originEdgeId: string; paused: boolean; via: string | null }>
  >;
  roster(meetingId: string): Promise<Array<{ siteId: string; mic: boolean; camera: boolean }>>;
  dump(): Promise<{
    rooms: Array<{ meetingId: string; transportIds: string[]; producerIds: string[]; consumerIds: string[] }>;
  }>;
  stats(): Promise<MediaStats>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface EdgeSpawn {
  edgeId: string;
  role?: 'site' | 'core';
  hardware?: 'simulated' | 'none';
  env?: Record<string, string>;
  /** Given when a test starts the same edge again (a restart keeps its token). */
  adminToken?: string;
  /** PEM of the CA that signed the edge's certificate, when it serves https (DIEMCAU_EDGE_TLS_*). */
  ca?: string;
}

let portBase = 41000 + (process.pid % 50) * 200;

export async function spawnEdge(o: EdgeSpawn): Promise<EdgeProc> {
  const adminToken = o.adminToken ?? token();
  const joinToken = o.env?.['DIEMCAU_EDGE_JOIN_TOKEN'] ?? token();
  // Each edge gets its own RTP port range so parallel edges never collide.
  const rtcMin = portBase;
  portBase += 100;
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DIEMCAU_EDGE_ID: o.edgeId,
      DIEMCAU_EDGE_ROLE: o.role ?? 'site',
      DIEMCAU_EDGE_HOST: '127.0.0.1',
      DIEMCAU_EDGE_PORT: '0',
      DIEMCAU_EDGE_ADMIN_TOKEN: adminToken,
      DIEMCAU_EDGE_LISTEN_IP: '127.0.0.1',
      DIEMCAU_EDGE_RTC_MIN_PORT: String(rtcMin),
      DIEMCAU_EDGE_RTC_MAX_PORT: String(rtcMin + 99),
      DIEMCAU_EDGE_JOIN_TOKEN: joinToken,
      DIEMCAU_EDGE_HARDWARE: o.hardware ?? 'none',
      // 100 RTP ports each: a join token may hold at most half of them (config.ts).
      DIEMCAU_EDGE_MAX_PEERS_PER_TOKEN: '10',
      LOG_LEVEL: process.env['EDGE_LOG_LEVEL'] ?? 'info',
      ...o.env,
    },
  });
  const logs: string[] = [];
  const remember = (line: string): void => {
    logs.push(line);
    if (logs.length > 200) logs.shift();
  };
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => d.split('\n').filter(Boolean).forEach(remember));
  const listening = new Promise<{ url: string; workerPid: number }>((resolve, reject) => {
    let buf = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        remember(line);
        try {
          const j = JSON.parse(line) as { msg?: string; url?: string; workerPid?: number };
          if (j.msg === 'edge listening' && j.url) resolve({ url: j.url, workerPid: j.workerPid ?? 0 });
        } catch {
          /* not JSON */
        }
      }
    });
    proc.once('exit', (code) =>
      reject(new Error(`edge ${o.edgeId} exited (${code}) before listening:\n${logs.join('\n')}`)),
    );
    setTimeout(
      () => reject(new Error(`edge ${o.edgeId} did not report listening (LOG_LEVEL above info?):\n${logs.join('\n')}`)),
      90_000,
    ).unref();
  });
  const { url, workerPid } = await listening.catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw err;
  });
  const exited = new Promise<void>((resolve) =>
    proc.exitCode !== null ? resolve() : proc.once('exit', () => resolve()),
  );
  const api = async <T>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await signalCall(url + p, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(o.ca ? { ca: o.ca } : {}),
      timeoutMs: 15_000,
    });
    return { status: res.status, body: (res.text ? JSON.parse(res.text) : null) as T };
  };
  const must = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const r = await api<T>(method, p, body);
    if (r.status >= 300) throw new Error(`${method} ${p} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    edgeId: o.edgeId,
    url,
    adminToken,
    joinToken,
    proc,
    workerPid,
    logs,
    api,
    plan: async (plan) => {
      await must('PUT', '/media/v1/plan', plan);
    },
    streams: (m) => must('GET', `/media/v1/meetings/${m}/streams`),
    roster: (m) => must('GET', `/media/v1/meetings/${m}/roster`),
    dump: () => must('GET', '/media/v1/dump'),
    stats: () => must('GET', '/media/v1/stats'),
    kill: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

// ---- plan builders -----------------------------------------------------------

export interface Node {
  edge: EdgeProc;
  siteId: string | null;
  parent: Node | null;
  /** Token downstream edges present to this one for the meeting. */
  acceptToken: string;
}

export function node(edge: EdgeProc, siteId: string | null, parent: Node | null): Node {
  return { edge, siteId, parent, acceptToken: token() };
}

/** A meeting's own fields: the meeting and its chair named, the rest (no floor, live) by default. */
export type MeetingFields = Pick<MediaMeeting, 'meetingId' | 'chairSiteId'> &
  Partial<Pick<MediaMeeting, 'title' | 'floorSiteId' | 'rollCallSiteId' | 'mutedAll' | 'state'>>;

export interface HostPlan extends MeetingFields {
  /** The token downstream edges present. */
  accept: string;
  /** The edges that may link in, and from where; omitted: the plan has no list at all. */
  downstream?: MediaDownstream[];
  revision?: number;
}

/** The plan of a host edge (the core) for one live meeting: no upstream, no room of its own, links taken in. */
export function hostPlan(edgeId: string, o: HostPlan): MediaPlan {
  const { accept, downstream, revision = 1, ...fields } = o;
  const meeting: MediaMeeting = {
    title: `meeting ${fields.meetingId}`,
    floorSiteId: null,
    rollCallSiteId: null,
    mutedAll: false,
    state: 'live',
    ...fields,
    role: 'host',
    upstream: null,
    acceptToken: accept,
    ...(downstream ? { downstream } : {}),
    localSiteId: null,
  };
  return { v: 1, revision, edgeId, meetings: [meeting] };
}

/** The sites at or below a node of the tree (what media-planner.ts names for it). */
export function sitesBelow(n: Node, nodes: Node[]): string[] {
  const out = n.siteId === null ? [] : [n.siteId];
  for (const c of nodes) if (c.parent === n) out.push(...sitesBelow(c, nodes));
  return out.sort();
}

/** The plan each edge of a cascade tree gets for one live meeting. */
export function plansFor(
  meetingId: string,
  nodes: Node[],
  chairSiteId: string,
  revision = 1,
  extra: Partial<MediaMeeting> = {},
): Map<Node, MediaPlan> {
  const hasChildren = new Set(nodes.map((n) => n.parent).filter((p): p is Node => p !== null));
  const out = new Map<Node, MediaPlan>();
  for (const n of nodes) {
    const role = n.parent === null ? 'host' : hasChildren.has(n) ? 'relay' : 'leaf';
    const meeting: MediaMeeting = {
      meetingId,
      title: `meeting ${meetingId}`,
      role,
      upstream: n.parent
        ? { edgeId: n.parent.edge.edgeId, signalUrl: n.parent.edge.url, linkToken: n.parent.acceptToken }
        : null,
      acceptToken: hasChildren.has(n) ? n.acceptToken : null,
      // Every edge runs on this machine: the plan names loopback for its children explicitly.
      // Each child may bring in the sites of its subtree, as the fleet plans it.
      downstream: nodes
        .filter((c) => c.parent === n)
        .map((c) => ({ edgeId: c.edge.edgeId, addresses: ['127.0.0.1'], siteIds: sitesBelow(c, nodes) })),
      localSiteId: n.siteId,
      chairSiteId,
      floorSiteId: null,
      rollCallSiteId: null,
      mutedAll: false,
      state: 'live',
      ...extra,
    };
    out.set(n, { v: 1, revision, edgeId: n.edge.edgeId, meetings: [meeting] });
  }
  return out;
}

// ---- waiting -----------------------------------------------------------------

export async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

// ---- plain RTP receiving ----------------------------------------------------------

/** Two free consecutive UDP ports (RTP, RTCP) on 127.0.0.1. */
export async function freeUdpPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const a = dgram.createSocket('udp4');
    await new Promise<void>((r) => a.bind(0, '127.0.0.1', () => r()));
    const port = a.address().port;
    a.close();
    if (port % 2 !== 0 || port >= 65534) continue;
    const b = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      b.once('error', () => r(false));
      b.bind(port + 1, '127.0.0.1', () => r(true));
    });
    b.close();
    if (ok) return port;
  }
  throw new Error('no free UDP port pair');
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export { root };

// ---- browsers ------------------------------------------------------------------

/**
 * Debian's Chromium, headless, with a fresh profile (the user-data-dir) that
 * goes away at teardown; never a downloaded browser. `extraArgs` add fake
 * devices or autoplay.
 */
export async function launchChromium(
  t: { teardown(fn: () => unknown): void },
  extraArgs: string[],
): Promise<{ browser: BrowserContext; page: Page }> {
  const profile = tempDir('diemcau-chromium-');
  t.teardown(() => fs.rmSync(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      ...extraArgs,
    ],
  });
  t.teardown(() => browser.close());
  return { browser, page: browser.pages()[0] ?? (await browser.newPage()) };
}

/**
 * Starts the edge program with `env` (a core edge with no hardware on a free
 * port, plus these settings) and waits for it to exit: for settings it must
 * refuse. Returns its exit code (null if it ran for a minute) and its stderr.
 */
export function edgeStartRefused(t: { teardown(fn: () => void): void }, env: Record<string, string>): Promise<Exited> {
  return runToExit(t, 'appliance/src/media/main.ts', {
    ...process.env,
    DIEMCAU_EDGE_ROLE: 'core',
    DIEMCAU_EDGE_HARDWARE: 'none',
    DIEMCAU_EDGE_PORT: '0',
    ...env,
  });
}
