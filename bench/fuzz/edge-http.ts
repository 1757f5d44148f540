// Fuzzing of the media edge's HTTP API against a real edge process (real
// mediasoup worker) holding a plan with a live meeting. Two parts:
//  1. Every route of the edge under many spellings of its path (the generator
//     of url-spellings.ts) and under each credential that must NOT open it:
//     no token, garbage, the join token and the TV's token on admin and link
//     routes, the link token of another meeting, the admin token on link
//     routes. A 2xx is a failure; so is a 5xx or no answer at all.
//  2. Schema-derived and malformed JSON bodies against every body-taking route
//     with the credential that opens it, on real peer, transport and link ids:
//     a 5xx is a failure, and so is the edge process exiting.
// After both, the edge must still answer /media/v1/health; its RSS is read
// before and after. Used by `npm run fuzz` and, as a small deterministic
// slice, by appliance/test/media/edge-spellings.test.ts.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { TSchema } from '@sinclair/typebox';
import { MediaPlanSchema, type MediaPlan } from '@diemcau/shared';
import { LinkEventBatchSchema, LinkOfferSchema } from '../../appliance/src/media/link/protocol.js';
import { ConnectBody, ConsumeBody, ProduceBody, TapBody } from '../../appliance/src/media/api/schemas.js';
import { spawnEdge, tempDir, token, type EdgeProc } from '../../appliance/test/media/helpers.js';
import { arbitraryOf } from './arbitrary.js';
import { bodiesAround, type Body } from './bodies.js';
import type { FuzzOutcome } from './codecs.js';
import { pool, rawRequest, spellingArbitrary, spellingTable, type RawResponse } from './url-spellings.js';

export type Credential = 'none' | 'garbage' | 'join' | 'kiosk' | 'admin' | 'link' | 'otherLink';
/** Who may open a route: the edge's access classes (appliance/src/media/api/access.ts; `local` counts as public from loopback). */
type Access = 'public' | 'admin' | 'joined' | 'link';

interface EdgeRoute {
  method: string;
  path: string;
  access: Access;
}

export interface EdgeCase {
  route: EdgeRoute;
  spelling: string;
  credential: Credential;
}

const MEETING = 'm-fuzz';
const OTHER = 'm-other';
const DOWN_EDGE = 'e-fuzz-down';

/** Credentials that must not open a route of this access class. */
const refusedFor: Record<Access, Credential[]> = {
  public: ['none', 'garbage'],
  admin: ['none', 'garbage', 'join', 'kiosk', 'link', 'otherLink'],
  // The admin token opens browser-peer routes by design (local clients); link tokens must not.
  joined: ['none', 'garbage', 'link', 'otherLink'],
  link: ['none', 'garbage', 'join', 'kiosk', 'otherLink', 'admin'],
};

/**
 * The edge's routes (its OpenAPI document, GET /media/v1/openapi.json)
 * with real ids, so a credential let through would reach a real object.
 */
function edgeRoutes(ids: { peerId: string; transportId: string; linkId: string }): EdgeRoute[] {
  const m = `/media/v1/meetings/${MEETING}`;
  const p = `${m}/peers/${ids.peerId}`;
  return [
    { method: 'GET', path: '/media/v1/health', access: 'public' },
    { method: 'GET', path: '/media/v1/openapi.json', access: 'public' },
    { method: 'GET', path: '/media/v1/join', access: 'public' },
    { method: 'GET', path: '/media/v1/join.js', access: 'public' },
    { method: 'GET', path: '/kiosk', access: 'public' },
    { method: 'GET', path: '/kiosk/state', access: 'public' },
    { method: 'GET', path: '/media/v1/refusals', access: 'admin' },
    { method: 'PUT', path: '/media/v1/plan', access: 'admin' },
    { method: 'GET', path: '/media/v1/stats', access: 'admin' },
    { method: 'GET', path: '/media/v1/dump', access: 'admin' },
    { method: 'GET', path: `${m}/streams`, access: 'admin' },
    { method: 'POST', path: `${m}/taps`, access: 'admin' },
    { method: 'DELETE', path: `${m}/taps/x`, access: 'admin' },
    { method: 'POST', path: `${m}/peers`, access: 'joined' },
    { method: 'POST', path: `${p}/transports`, access: 'joined' },
    { method: 'POST', path: `${p}/transports/${ids.transportId}/connect`, access: 'joined' },
    { method: 'POST', path: `${p}/produce`, access: 'joined' },
    { method: 'GET', path: `${p}/streams`, access: 'joined' },
    { method: 'GET', path: `${p}/layout`, access: 'joined' },
    { method: 'POST', path: `${p}/consume`, access: 'joined' },
    { method: 'POST', path: `${p}/consumers/x/resume`, access: 'joined' },
    { method: 'DELETE', path: p, access: 'joined' },
    { method: 'POST', path: `${m}/links`, access: 'link' },
    { method: 'GET', path: `${m}/links/${ids.linkId}/events`, access: 'link' },
    { method: 'POST', path: `${m}/links/${ids.linkId}/events`, access: 'link' },
    { method: 'DELETE', path: `${m}/links/${ids.linkId}`, access: 'link' },
  ];
}

/** Parameters that arrive percent-decoded at the edge: malformed escapes must be a 4xx, not a 500. */
const BAD_ESCAPES = ['%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80'];

/**
 * The edge's own spellings on top of the shared table: malformed escapes in a
 * decoded parameter, and a doubled slash before a double-encoded letter, which
 * the URL parser reads as a host it refuses (`//ki%256fsk/state`). Both once
 * broke the edge (a 500; the process exiting).
 */
function edgeSpellings(path: string): string[] {
  const out: string[] = [];
  const m = /^\/media\/v1\/meetings\/[^/]+(.*)$/.exec(path);
  if (m) for (const bad of BAD_ESCAPES) out.push(`/media/v1/meetings/${bad}${m[1]}`);
  const i = path.search(/[a-zA-Z]/);
  if (i > 0) {
    const dbl = `${path.slice(0, i + 1)}%25${path.charCodeAt(i + 1).toString(16)}${path.slice(i + 2)}`;
    out.push(`/${dbl}`, `/${dbl}#/../x`);
  }
  return out;
}

const casesOf = (routes: readonly EdgeRoute[], spell: (path: string) => string[]): EdgeCase[] =>
  routes.flatMap((route) =>
    spell(route.path).flatMap((spelling) =>
      refusedFor[route.access].map((credential) => ({ route, spelling, credential })),
    ),
  );

const caseArbitrary = (routes: readonly EdgeRoute[]): fc.Arbitrary<EdgeCase> =>
  fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant(route),
      spelling: spellingArbitrary(route.path),
      credential: fc.constantFrom(...refusedFor[route.access]),
    }),
  );

/** Bodies around a valid one (bodies.ts); the bytes go out as latin1 text. */
function bodies(schema: TSchema, fix: (v: Record<string, unknown>) => Record<string, unknown>): fc.Arbitrary<Body> {
  const valid = arbitraryOf(schema).map((v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? fix(v as Record<string, unknown>) : v,
  );
  return bodiesAround(valid, { nearDepth: 3, bytes: (b) => Buffer.from(b).toString('latin1') });
}

interface BodyRoute {
  name: string;
  method: string;
  path: string;
  credential: Credential;
  arb: fc.Arbitrary<Body>;
}

function bodyRoutes(ids: { peerId: string; transportId: string; linkId: string }, edgeId: string): BodyRoute[] {
  const m = `/media/v1/meetings/${MEETING}`;
  const p = `${m}/peers/${ids.peerId}`;
  // Half the generated bodies name the real transport, so they reach the worker and not only a 404.
  const realTransport = (v: Record<string, unknown>): Record<string, unknown> =>
    String(v['transportId'] ?? '').length % 2 === 0 ? { ...v, transportId: ids.transportId } : v;
  const keep = (v: Record<string, unknown>): Record<string, unknown> => v;
  return [
    // A plan for another edge id: refused whole (409), never applied, so the meeting stays up.
    {
      name: 'PUT /plan',
      method: 'PUT',
      path: '/media/v1/plan',
      credential: 'admin',
      arb: bodies(MediaPlanSchema, (v) => ({ ...v, edgeId: v['edgeId'] === edgeId ? `${edgeId}x` : v['edgeId'] })),
    },
    { name: 'POST taps', method: 'POST', path: `${m}/taps`, credential: 'admin', arb: bodies(TapBody, keep) },
    {
      name: 'POST transports/connect',
      method: 'POST',
      path: `${p}/transports/${ids.transportId}/connect`,
      credential: 'join',
      arb: bodies(ConnectBody, keep),
    },
    {
      name: 'POST produce',
      method: 'POST',
      path: `${p}/produce`,
      credential: 'join',
      arb: bodies(ProduceBody, realTransport),
    },
    {
      name: 'POST consume',
      method: 'POST',
      path: `${p}/consume`,
      credential: 'kiosk',
      arb: bodies(ConsumeBody, realTransport),
    },
    { name: 'POST links', method: 'POST', path: `${m}/links`, credential: 'link', arb: bodies(LinkOfferSchema, keep) },
    {
      name: 'POST links/events',
      method: 'POST',
      path: `${m}/links/${ids.linkId}/events`,
      credential: 'link',
      arb: bodies(LinkEventBatchSchema, keep),
    },
  ];
}

/** Resident set of a process in KiB (Linux /proc), 0 when gone. */
export function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export interface EdgeFuzzOptions {
  /** Random spelling cases on top of the table. */
  spellingRuns: number;
  /** Bodies per body-taking route. */
  bodyRuns: number;
  seed: number;
  /** Send only this many spelling cases, taken evenly from table + random (the test's slice). */
  limit?: number;
  progress?: (line: string) => void;
}

export interface EdgeFuzzResult {
  routes: number;
  sent: number;
  byStatus: Record<string, number>;
  failures: string[];
  rssBeforeKiB: { edge: number; worker: number };
  rssAfterKiB: { edge: number; worker: number };
  healthAfter: number;
  exitedWith: number | string | null;
}

interface Tokens {
  admin: string;
  join: string;
  kiosk: string;
  link: string;
  otherLink: string;
}

const tokenFor = (c: Credential, t: Tokens): string | undefined =>
  c === 'none' ? undefined : c === 'garbage' ? 'garbage-0123456789abcdef-garbage' : t[c];

async function setUp(
  edge: EdgeProc,
  t: Omit<Tokens, 'kiosk' | 'join' | 'admin'>,
): Promise<{ kiosk: string; peerId: string; transportId: string; linkId: string }> {
  const meeting = (meetingId: string, acceptToken: string): MediaPlan['meetings'][number] => ({
    meetingId,
    title: `giao ban ${meetingId}`,
    role: 'host',
    upstream: null,
    acceptToken,
    downstream: [{ edgeId: DOWN_EDGE, addresses: ['127.0.0.1'], siteIds: ['xa-b'] }],
    localSiteId: 'xa-a',
    chairSiteId: 'xa-a',
    floorSiteId: null,
    rollCallSiteId: null,
    mutedAll: false,
    state: 'live',
  });
  // The live meeting first (the TV joins the first live one), then another whose link token must open nothing here.
  await edge.plan({
    v: 1,
    revision: 1,
    edgeId: edge.edgeId,
    meetings: [meeting(MEETING, t.link), meeting(OTHER, t.otherLink)],
  });
  const base = new URL(edge.url);
  const port = Number(base.port);
  const state = JSON.parse((await rawRequest(port, { method: 'GET', target: '/kiosk/state' })).body) as {
    meeting: { joinUrl: string } | null;
  };
  const kiosk = new URL(state.meeting?.joinUrl ?? '/', edge.url).searchParams.get('token') ?? '';
  if (!kiosk) throw new Error('the kiosk state named no TV token');
  const call = async (method: string, p: string, tok: string, body?: unknown): Promise<RawResponse> => {
    const r = await rawRequest(port, {
      method,
      target: p,
      headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    if (r.status >= 300) throw new Error(`${method} ${p} -> ${r.status} ${r.body}`);
    return r;
  };
  const { peerId } = JSON.parse((await call('POST', `/media/v1/meetings/${MEETING}/peers`, edge.joinToken)).body) as {
    peerId: string;
  };
  const { id: transportId } = JSON.parse(
    (await call('POST', `/media/v1/meetings/${MEETING}/peers/${peerId}/transports`, edge.joinToken)).body,
  ) as { id: string };
  // A link as the downstream edge would open it (its offer names loopback, which the plan names).
  const offer = {
    v: 1,
    edgeId: DOWN_EDGE,
    ip: '127.0.0.1',
    port: 40_000,
    srtp: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: randomBytes(44).toString('base64') },
  };
  const { linkId } = JSON.parse((await call('POST', `/media/v1/meetings/${MEETING}/links`, t.link, offer)).body) as {
    linkId: string;
  };
  return { kiosk, peerId, transportId, linkId };
}

/** Evenly spread `n` items of `items` (deterministic). */
const spread = <T>(items: readonly T[], n: number): T[] =>
  n >= items.length ? [...items] : Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);

/** Starts an edge, runs both parts, stops the edge. */
export async function runEdgeFuzz(o: EdgeFuzzOptions): Promise<EdgeFuzzResult> {
  const progress = o.progress ?? (() => undefined);
  const dataDir = tempDir('diemcau-fuzz-edge-');
  const edge = await spawnEdge({
    edgeId: 'e-fuzz',
    role: 'site',
    // The fuzz opens peers and links from loopback: the default caps stay, the log stays quiet.
    env: { DIEMCAU_DATA_DIR: dataDir, LOG_LEVEL: process.env['EDGE_LOG_LEVEL'] ?? 'info' },
  });
  try {
    const link = token();
    const otherLink = token();
    const ids = await setUp(edge, { link, otherLink });
    const tokens: Tokens = { admin: edge.adminToken, join: edge.joinToken, kiosk: ids.kiosk, link, otherLink };
    const port = Number(new URL(edge.url).port);
    const routes = edgeRoutes(ids);
    const rssBeforeKiB = { edge: rssKiB(edge.proc.pid!), worker: rssKiB(edge.workerPid) };
    const byStatus: Record<string, number> = {};
    const failures: string[] = [];
    const fail = (line: string): void => void (failures.length < 20 && failures.push(line));
    const count = (status: number): void => void (byStatus[status] = (byStatus[status] ?? 0) + 1);

    // Part 1: spellings x credentials that must not open the route.
    const own = casesOf(routes, edgeSpellings);
    const table = [...casesOf(routes, spellingTable), ...own];
    const random = fc.sample(caseArbitrary(routes), { numRuns: o.spellingRuns, seed: o.seed });
    // The slice keeps a sixth for the edge's own spellings, so it still guards what they once broke.
    const cases =
      o.limit === undefined
        ? [...table, ...random]
        : [
            ...spread(own, Math.floor(o.limit / 6)),
            ...spread([...table, ...random], o.limit - Math.floor(o.limit / 6)),
          ];
    let started = Date.now();
    await pool(cases, 8, async (c) => {
      const tok = tokenFor(c.credential, tokens);
      const hasBody = !['GET', 'DELETE'].includes(c.route.method);
      const res = await rawRequest(port, {
        method: c.route.method,
        target: c.spelling,
        headers: {
          ...(tok ? { authorization: `Bearer ${tok}` } : {}),
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
        },
        ...(hasBody ? { body: '{}' } : {}),
      });
      count(res.status);
      const wrong =
        (res.status >= 200 && res.status < 300 && c.route.access !== 'public') || res.status >= 500 || res.status === 0;
      if (wrong) fail(`${c.route.method} ${c.spelling} (${c.credential}) -> ${res.status} ${res.body.slice(0, 160)}`);
    });
    const spellingMs = Date.now() - started;
    progress(
      `edge URL spellings: ${routes.length} routes, ${cases.length} requests (${table.length} table, ${random.length} random, seed ${o.seed}) in ${spellingMs} ms`,
    );

    // Part 2: bodies with the credential that opens the route.
    started = Date.now();
    let bodiesSent = 0;
    for (const r of bodyRoutes(ids, edge.edgeId)) {
      const sample = fc.sample(r.arb, { numRuns: o.bodyRuns, seed: o.seed });
      await pool(sample, 4, async (b) => {
        const tok = tokenFor(r.credential, tokens)!;
        const res = await rawRequest(
          port,
          {
            method: r.method,
            target: r.path,
            headers: { authorization: `Bearer ${tok}`, ...(b.contentType ? { 'content-type': b.contentType } : {}) },
            ...(b.payload === undefined ? {} : { body: b.payload }),
          },
          15_000,
        );
        bodiesSent++;
        count(res.status);
        if (res.status >= 500 || res.status === 0)
          fail(
            `${r.name} (${r.credential}) ${String(b.payload).slice(0, 160)} -> ${res.status} ${res.body.slice(0, 160)}`,
          );
      });
    }
    progress(`edge bodies: ${bodiesSent} requests on 7 body routes in ${Date.now() - started} ms`);

    const health = await rawRequest(port, { method: 'GET', target: '/media/v1/health' });
    const exitedWith = edge.proc.exitCode ?? edge.proc.signalCode ?? null;
    if (health.status !== 200) {
      const last = edge.logs
        .filter((l) => !l.includes('request refused') && !l.includes('request failed'))
        .slice(-4)
        .join(' | ');
      failures.unshift(
        `the edge no longer answers /media/v1/health (${health.status}); exit ${String(exitedWith)}; last errors: ${last.slice(0, 1500)}`,
      );
    }
    const rssAfterKiB = { edge: rssKiB(edge.proc.pid!), worker: rssKiB(edge.workerPid) };
    // The edge logs each 5xx with its cause: the last few name what to fix.
    for (const line of edge.logs.filter((l) => l.includes('"request failed"')).slice(-2))
      if (failures.length > 0) failures.push(`edge log: ${line.slice(0, 700)}`);
    return {
      routes: routes.length,
      sent: cases.length + bodiesSent,
      byStatus,
      failures,
      rssBeforeKiB,
      rssAfterKiB,
      healthAfter: health.status,
      exitedWith,
    };
  } finally {
    await edge.kill();
  }
}

/** `npm run fuzz`'s edge part: one row for the fuzz table, figures on stderr. */
export async function fuzzEdgeHttp(
  runs: number,
  progress: (line: string) => void,
  seed = Date.now() % 2 ** 31,
): Promise<FuzzOutcome> {
  const r = await runEdgeFuzz({ spellingRuns: runs, bodyRuns: Math.max(50, Math.floor(runs / 10)), seed, progress });
  const mib = (k: number): string => (k / 1024).toFixed(1);
  progress(
    `edge by status: ${Object.entries(r.byStatus)
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ')}`,
  );
  progress(
    `edge RSS before/after: process ${mib(r.rssBeforeKiB.edge)}/${mib(r.rssAfterKiB.edge)} MiB, worker ${mib(r.rssBeforeKiB.worker)}/${mib(r.rssAfterKiB.worker)} MiB; health after ${r.healthAfter}`,
  );
  const twoxx = Object.entries(r.byStatus)
    .filter(([s]) => s.startsWith('2'))
    .reduce((n, [, v]) => n + v, 0);
  return {
    name: `edge HTTP (${r.routes} routes, spellings + bodies)`,
    runs: r.sent,
    accepted: twoxx,
    rejected: r.sent - twoxx,
    failures: r.failures.length,
    ...(r.failures[0] ? { firstFailure: r.failures[0] } : {}),
  };
}
