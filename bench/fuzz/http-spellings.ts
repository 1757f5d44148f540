// Fail-closed check of the fleet's HTTP API by URL spelling: every protected
// route the live fleet has registered (its own route table, so a route added
// tomorrow is covered with no change here), sent under many spellings over raw
// TCP, with no token, a garbage token, and (on writes) a viewer's token.
// Properties: never a 2xx, never past the auth hook (no FLEET_ERR_* other than
// 401/403 comes back), and the registry's content unchanged.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildFleet, type Fleet } from '../../fleet/src/app.js';
import type { RouteAccess } from '../../fleet/src/api/auth.js';
import { bodyRoutes } from './http.js';
import { arbitraryFromJsonSchema, type JsonSchema } from './json-schema.js';
import type { FuzzOutcome } from './codecs.js';
import { pool, rawRequest, spellingArbitrary, spellingTable, type RawResponse } from './url-spellings.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
export type Credential = 'none' | 'garbage' | 'viewer';

export interface ProtectedTarget {
  route: RouteAccess;
  /** The route's URL with its parameters filled in with real ids. */
  path: string;
  /** A valid JSON body where the route states a schema, so a handler reached would act. */
  body: string | undefined;
}

export interface SpellingCase {
  target: ProtectedTarget;
  spelling: string;
  credential: Credential;
}

interface Ids {
  deviceId: string;
  operatorId: string;
}

function fillParams(url: string, ids: Ids): string {
  return url
    .replace(/^\/api\/v1\/devices\/:id/, `/api/v1/devices/${ids.deviceId}`)
    .replace(/^\/api\/v1\/operators\/:id/, `/api/v1/operators/${ids.operatorId}`)
    .replace(/^\/api\/v1\/sites\/:(siteId|id)/, '/api/v1/sites/yb-city')
    .replace(/\/alerts\/:id/, '/alerts/1')
    .replace(/:version/, '1.0.0')
    .replace(/:\w+/g, 'x')
    .replace(/\*$/, 'x');
}

/**
 * The protected routes of the live fleet with real ids and valid bodies.
 * `ids` name a device and an operator that exist, so a DELETE reached would
 * change the registry.
 */
export function protectedTargets(fleet: Fleet, ids: Ids): ProtectedTarget[] {
  const doc = fleet.http.swagger() as unknown as Parameters<typeof bodyRoutes>[0];
  const resolve = (ref: string): JsonSchema | undefined => doc.components?.schemas?.[ref.split('/').pop()!];
  const schemas = new Map(
    bodyRoutes(doc).map((r) => [`${r.method.toUpperCase()} ${r.path.replace(/\{(\w+)\}/g, ':$1')}`, r.schema]),
  );
  const known = {
    siteId: fc.constant('yb-city'),
    chairSiteId: fc.constant('yb-city'),
    districtId: fc.constant('yb-yen-binh'),
    siteIds: fc.constant(['yb-city']),
  };
  return fleet.http
    .routeAccess()
    .filter((r) => !r.public)
    .map((route) => {
      const schema = schemas.get(`${route.method} ${route.url}`);
      const body = schema
        ? JSON.stringify(fc.sample(arbitraryFromJsonSchema(schema, resolve, known), { numRuns: 1, seed: 7 })[0])
        : undefined;
      return { route, path: fillParams(route.url, ids), body };
    });
}

/** Every spelling of the table for every target, under each credential that applies. */
export function tableCases(targets: readonly ProtectedTarget[]): SpellingCase[] {
  return targets.flatMap((target) =>
    spellingTable(target.path).flatMap((spelling) =>
      credentialsFor(target).map((credential) => ({ target, spelling, credential })),
    ),
  );
}

export const credentialsFor = (t: ProtectedTarget): Credential[] =>
  READS.has(t.route.method) ? ['none', 'garbage'] : ['none', 'garbage', 'viewer'];

/** Random cases: any target, any mix of spelling moves, any credential that applies. */
export function caseArbitrary(targets: readonly ProtectedTarget[]): fc.Arbitrary<SpellingCase> {
  return fc.constantFrom(...targets).chain((target) =>
    fc.record({
      target: fc.constant(target),
      spelling: spellingArbitrary(target.path),
      credential: fc.constantFrom(...credentialsFor(target)),
    }),
  );
}

export async function send(port: number, c: SpellingCase, viewerToken: string): Promise<RawResponse> {
  const token =
    c.credential === 'none' ? undefined : c.credential === 'viewer' ? viewerToken : 'garbage-0123456789abcdef-garbage';
  return rawRequest(port, {
    method: c.target.route.method,
    target: c.spelling,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(c.target.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(c.target.body === undefined ? {} : { body: c.target.body }),
  });
}

/**
 * What a refused case may answer: 401 without a valid token, 403 for a
 * viewer's write; 400 only when the HTTP parser or the router refused the
 * target itself (no FLEET_ERR_ code: nothing past routing ran). Returns why
 * the answer is wrong, or undefined when it is fine.
 */
export function verdict(c: SpellingCase, res: RawResponse, publicPrefixes: readonly string[] = []): string | undefined {
  const code = /"code":"(FLEET_ERR_[A-Z_]+)"/.exec(res.body)?.[1];
  const expected = c.credential === 'viewer' ? 403 : 401;
  if (res.status === expected) return undefined;
  // `/ui/../api/v1/sites` is the dashboard's public file route asked for a
  // file that is not there: not the protected route, and it must say 404.
  const path = c.spelling.replace(/^[a-z]+:\/\/[^/]*/i, '');
  const notFound = code === 'FLEET_ERR_NOT_FOUND' || (c.target.route.method === 'HEAD' && res.body === '');
  if (res.status === 404 && notFound && publicPrefixes.some((p) => path.startsWith(p))) return undefined;
  if (
    res.status === 400 &&
    (code === undefined || (code === 'FLEET_ERR_BAD_REQUEST' && /not a valid url|bad url/i.test(res.body)))
  )
    return undefined;
  return `${c.target.route.method} ${c.spelling} (${c.credential}) -> ${res.status} ${res.body.slice(0, 160)}`;
}

/** A digest of the registry's content, leaving out the audit rows of refusals the run itself causes. */
export async function stateDigest(fleet: Fleet): Promise<string> {
  const { db } = fleet;
  const listing =
    db.dialect === 'sqlite'
      ? `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
      : `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`;
  const tables = (await db.all<{ name: string }>(listing)).map((r) => r.name);
  const h = createHash('sha256');
  for (const name of tables) {
    const where = name === 'audit_log' ? ` WHERE action <> 'http.refused' AND outcome NOT IN ('401', '403')` : '';
    // A stable order, so the digest does not depend on the engine's row order.
    h.update(name).update(JSON.stringify(await db.all(`SELECT * FROM "${name}"${where} ORDER BY 1`)));
  }
  return h.digest('hex');
}

export interface SpellingRunResult {
  routes: number;
  sent: number;
  byStatus: Record<string, number>;
  failures: string[];
}

/**
 * Sends every case and collects answers by status and the wrong ones. The
 * caller checks the registry's digest around it.
 */
/** Path prefixes of the public wildcard routes (`/ui/`, `/docs/static/`). */
export const publicPrefixes = (fleet: Fleet): string[] => [
  ...new Set(
    fleet.http
      .routeAccess()
      .filter((r) => r.public && r.url.endsWith('*'))
      .map((r) => r.url.slice(0, -1)),
  ),
];

export async function runCases(
  port: number,
  cases: readonly SpellingCase[],
  viewerToken: string,
  prefixes: readonly string[],
  concurrency = 8,
): Promise<Omit<SpellingRunResult, 'routes'>> {
  const byStatus: Record<string, number> = {};
  const failures: string[] = [];
  await pool(cases, concurrency, async (c) => {
    const res = await send(port, c, viewerToken);
    byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
    const wrong = verdict(c, res, prefixes);
    if (wrong && failures.length < 20) failures.push(wrong);
  });
  return { sent: cases.length, byStatus, failures };
}

/**
 * `npm run fuzz`'s URL part: a fleet of its own on a temp dir, every table
 * case plus `runs` random ones. One row for the fuzz table: accepted = 2xx
 * answers (must be 0), failures = wrong answers plus a changed registry.
 */
export async function fuzzUrlSpellings(
  runs: number,
  progress: (line: string) => void,
  seed = Date.now() % 2 ** 31,
): Promise<FuzzOutcome> {
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-fuzz-urls-'));
  const admin = 'fuzz-admin-token-0123456789abcdef';
  const fleet = await buildFleet({
    config: {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      dataDir,
      adminToken: admin,
      logLevel: 'silent',
      enrollMaxFailuresPerMin: 0,
    },
  });
  try {
    const call = async <T>(method: 'POST', url: string, payload: object, token?: string): Promise<T> =>
      (
        await fleet.http.inject({ method, url, payload, headers: token ? { authorization: `Bearer ${token}` } : {} })
      ).json<T>();
    const viewer = await call<{ id: string; token: string }>(
      'POST',
      '/api/v1/operators',
      { name: 'fuzz viewer', role: 'viewer' },
      admin,
    );
    const tok = await call<{ token: string }>('POST', '/api/v1/sites/yb-city/enrollment-tokens', {}, admin);
    const device = await call<{ deviceId: string }>('POST', '/api/v1/enroll', { token: tok.token, hardware: {} });
    const targets = protectedTargets(fleet, { deviceId: device.deviceId, operatorId: viewer.id });
    const prefixes = publicPrefixes(fleet);
    const table = tableCases(targets);
    const random = fc.sample(caseArbitrary(targets), { numRuns: runs, seed });
    const before = await stateDigest(fleet);
    const started = Date.now();
    const r = await runCases(fleet.httpPort, [...table, ...random], viewer.token, prefixes);
    const ms = Date.now() - started;
    const changed = (await stateDigest(fleet)) !== before;
    const twoxx = Object.entries(r.byStatus)
      .filter(([s]) => s.startsWith('2'))
      .reduce((n, [, v]) => n + v, 0);
    progress(
      `URL spellings: ${targets.length} protected route methods, ${table.length} table + ${random.length} random cases (seed ${seed}), ${r.sent} requests in ${ms} ms (${Math.round((r.sent * 1000) / ms)}/s)`,
    );
    progress(
      `URL spellings by status: ${Object.entries(r.byStatus)
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ')}; registry ${changed ? 'CHANGED' : 'unchanged'}`,
    );
    return {
      name: `URL spellings (${targets.length} protected routes)`,
      runs: r.sent,
      accepted: twoxx,
      rejected: r.sent - twoxx,
      failures: r.failures.length + (changed ? 1 : 0),
      ...(r.failures[0] ? { firstFailure: r.failures[0] } : changed ? { firstFailure: 'the registry changed' } : {}),
    };
  } finally {
    await fleet.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
