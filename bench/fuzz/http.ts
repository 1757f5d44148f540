// Fuzzing of the fleet's HTTP bodies: every POST/PUT/PATCH route that states a
// JSON body schema in the fleet's own OpenAPI document gets valid bodies (from
// that schema), near-valid ones (one field replaced or added), and garbage
// (any JSON, text that is not JSON, raw bytes, the wrong content type, an
// empty body), through inject() into a real fleet on a temp dir. Properties:
// never a 5xx, every refusal is `{ code, message }`, and the process never
// sees an unhandled rejection.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildFleet, type Fleet } from '../../fleet/src/app.js';
import { bodiesAround, type Body as FuzzBody } from './bodies.js';
import { arbitraryFromJsonSchema, type JsonSchema, type KnownValues } from './json-schema.js';
import type { FuzzOutcome } from './codecs.js';

const ADMIN = 'fuzz-admin-token-0123456789abcdef';
const METHODS = ['post', 'put', 'patch'] as const;

interface BodyRoute {
  method: (typeof METHODS)[number];
  /** OpenAPI path, e.g. /api/v1/sites/{siteId}/enrollment-tokens */
  path: string;
  schema: JsonSchema;
}

type Body = FuzzBody<Buffer>;

interface OpenApiDoc {
  paths: Record<
    string,
    Partial<Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>
  >;
  components?: { schemas?: Record<string, JsonSchema> };
}

export function bodyRoutes(doc: OpenApiDoc): BodyRoute[] {
  const out: BodyRoute[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const schema = ops[method]?.requestBody?.content?.['application/json']?.schema;
      if (schema) out.push({ method, path, schema });
    }
  }
  return out;
}

function bodies(
  schema: JsonSchema,
  resolve: (ref: string) => JsonSchema | undefined,
  known: KnownValues,
): fc.Arbitrary<Body> {
  return bodiesAround(arbitraryFromJsonSchema(schema, resolve, known), { nearDepth: 2, bytes: (b) => Buffer.from(b) });
}

/** Real ids for path parameters, so bodies reach the handlers and not only a 404. */
async function pathValues(fleet: Fleet): Promise<(path: string) => string> {
  const tok = await fleet.http.inject({
    method: 'POST',
    url: '/api/v1/sites/yb-city/enrollment-tokens',
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: {},
  });
  const enrolled = await fleet.http.inject({
    method: 'POST',
    url: '/api/v1/enroll',
    payload: { token: tok.json<{ token: string }>().token, hardware: {} },
  });
  const deviceId = enrolled.json<{ deviceId: string }>().deviceId;
  return (path) =>
    path.replace(/\{(\w+)\}/g, (_m, name: string) => {
      if (name === 'siteId' || path.startsWith('/api/v1/sites/')) return 'yb-city';
      if (path.startsWith('/api/v1/devices/')) return deviceId;
      if (path.startsWith('/api/v1/alerts/')) return '1';
      return 'fuzz-unknown';
    });
}

export async function fuzzHttpBodies(
  runs: number,
  progress: (line: string) => void,
  seed?: number,
): Promise<FuzzOutcome[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-fuzz-http-'));
  let unhandled = 0;
  const onUnhandled = (): void => void unhandled++;
  process.on('unhandledRejection', onUnhandled);
  const fleet = await buildFleet({
    config: {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      dataDir,
      adminToken: ADMIN,
      logLevel: 'silent',
      enrollMaxFailuresPerMin: 0,
    },
  });
  const rows: FuzzOutcome[] = [];
  try {
    const doc = fleet.http.swagger() as unknown as OpenApiDoc;
    const resolve = (ref: string) => doc.components?.schemas?.[ref.split('/').pop()!];
    const urlFor = await pathValues(fleet);
    const siteIds = fleet.sites.all().map((s) => s.id);
    const site = fc.constantFrom(...siteIds);
    const known: KnownValues = {
      siteId: site,
      chairSiteId: site,
      districtId: fc.constantFrom(
        ...fleet.sites
          .all()
          .filter((s) => s.kind === 'district')
          .map((s) => s.id),
      ),
      siteIds: fc.uniqueArray(site, { minLength: 1, maxLength: 6 }),
    };
    for (const route of bodyRoutes(doc)) {
      const name = `${route.method.toUpperCase()} ${route.path.replace(/^\/api\/v1/, '')}`;
      const outcome: FuzzOutcome = { name, runs, accepted: 0, rejected: 0, failures: 0 };
      const url = urlFor(route.path);
      const started = Date.now();
      const result = await fc.check(
        fc.asyncProperty(bodies(route.schema, resolve, known), async (body) => {
          const before = unhandled;
          const res = await fleet.http.inject({
            method: route.method.toUpperCase() as 'POST',
            url,
            headers: {
              authorization: `Bearer ${ADMIN}`,
              ...(body.contentType ? { 'content-type': body.contentType } : {}),
            },
            ...(body.payload === undefined ? {} : { payload: body.payload }),
          });
          if (res.statusCode >= 500) throw new Error(`HTTP ${res.statusCode}: ${res.body.slice(0, 200)}`);
          if (unhandled !== before) throw new Error('unhandled rejection');
          if (res.statusCode < 300) {
            outcome.accepted++;
            return true;
          }
          outcome.rejected++;
          const err = res.json<{ code?: unknown; message?: unknown }>();
          return typeof err.code === 'string' && typeof err.message === 'string';
        }),
        { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
      );
      if (result.failed) {
        outcome.failures = 1;
        const c = result.counterexample?.[0] as Body | undefined;
        outcome.firstFailure = `${String(c?.payload).slice(0, 200)}${result.errorInstance ? ` (${String(result.errorInstance)})` : ''}`;
      }
      rows.push(outcome);
      progress(`${name} ${runs} cases in ${Date.now() - started} ms`);
    }
    const health = await fleet.http.inject({ method: 'GET', url: '/healthz' });
    if (health.statusCode !== 200)
      rows.push({
        name: 'fleet health after fuzzing',
        runs: 1,
        accepted: 0,
        rejected: 1,
        failures: 1,
        firstFailure: health.body,
      });
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await fleet.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}
