import t, { type Test } from 'tap';
import { OPERATION_IDS } from '../../src/api/openapi-operations.js';
import { startTestFleet, type TestFleet } from '../helpers/fleet.js';

// Every operation of the fleet's OpenAPI document is complete: a stable
// operationId, a summary, a 2xx answer with its schema, the refusals it can
// give, and the same idea of who may call it as the auth hook (auth.ts),
// checked against the routes the server really holds and against live answers.

interface Response {
  description?: string;
  content?: Record<string, { schema?: unknown }>;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: { default?: unknown };
}
interface Operation {
  operationId?: string;
  summary?: string;
  security?: unknown[];
  parameters?: Parameter[];
  responses: Record<string, Response>;
}
interface BodySchema {
  required?: string[];
  properties?: Record<string, BodySchema>;
}
interface Document {
  servers?: { url: string }[];
  security?: unknown[];
  components: { schemas: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
/** Routes deliberately left out of the document: the dashboard's files, the document itself, the scrape target. */
const UNDOCUMENTED = /^GET (\/|\/ui\/\*|\/favicon\.ico|\/metrics|\/docs(\/.*)?)$/;

async function load(
  t: Test,
): Promise<{ f: TestFleet; doc: Document; ops: { key: string; method: string; path: string; op: Operation }[] }> {
  const f = await startTestFleet(t);
  const res = await f.api('GET', '/docs/json', { token: null });
  t.equal(res.status, 200);
  const doc = res.body as Document;
  const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.has(m))
      .map(([m, op]) => ({ key: `${m.toUpperCase()} ${path}`, method: m.toUpperCase(), path, op })),
  );
  return { f, doc, ops };
}

/** `/api/v1/devices/:id` as the document spells it. */
const openapiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const isErrorRef = (r: Response | undefined): boolean =>
  JSON.stringify(r?.content?.['application/json']?.schema) === JSON.stringify({ $ref: '#/components/schemas/Error' });

t.test('every operation has an operationId, a summary, a 2xx schema and its refusals', async (t) => {
  const { f, doc, ops } = await load(t);
  t.ok(ops.length >= 49, `${ops.length} operations documented`);
  t.ok((doc.servers ?? []).length > 0, 'the document names a server');
  t.ok(doc.components.schemas.Error, 'the shared Error schema is a named component');

  const access = new Map(
    f.fleet.http
      .routeAccess()
      .filter((r) => r.method !== 'HEAD')
      .map((r) => [`${r.method} ${openapiPath(r.url)}`, r]),
  );
  // Each gap is one line, so a failure lists every incomplete operation at once.
  const gaps: string[] = [];
  const gap = (key: string, what: string): void => void gaps.push(`${key}: ${what}`);
  const ids = new Map<string, string>();
  for (const { key, method, op } of ops) {
    const route = access.get(key);
    if (!route) {
      gap(key, 'documented, but the server has no such route');
      continue;
    }
    if (!op.operationId || !/^[a-z][A-Za-z0-9]*$/.test(op.operationId))
      gap(key, `no camelCase operationId (${op.operationId ?? 'none'})`);
    else if (ids.has(op.operationId)) gap(key, `operationId ${op.operationId} also names ${ids.get(op.operationId)}`);
    else ids.set(op.operationId, key);
    if (!op.summary) gap(key, 'no summary');

    const ok = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
    const withSchema = ok.filter(
      ([status, r]) => status === '204' || Object.values(r.content ?? {}).some((c) => c.schema !== undefined),
    );
    if (withSchema.length === 0)
      gap(key, `no 2xx answer with a schema (has ${ok.map(([s]) => s).join(',') || 'none'})`);

    if (route.public) {
      if (JSON.stringify(op.security) !== '[]') gap(key, 'public, but security is not []');
      if (op.responses['403']) gap(key, 'public, but documents a 403');
    } else {
      if (op.security !== undefined) gap(key, 'protected, but overrides the bearer requirement');
      if (!isErrorRef(op.responses['401'])) gap(key, 'protected, but no 401 with the Error schema');
      const canRefuse = route.roles !== undefined || !['GET', 'HEAD', 'OPTIONS'].includes(method);
      if (canRefuse && !isErrorRef(op.responses['403']))
        gap(key, `refuses by role or viewer write, but no 403 with the Error schema`);
    }
    if ((op.parameters ?? []).length > 0 && !isErrorRef(op.responses['400']))
      gap(key, 'takes parameters, but no 400 with the Error schema');
    for (const p of op.parameters ?? []) {
      if (p.in === 'query' && p.schema?.default !== undefined && p.required)
        gap(key, `${p.name} has a default, yet is required`);
    }
    for (const [status, r] of Object.entries(op.responses)) {
      if (!r.description || r.description === 'Default Response') gap(key, `${status} is not described`);
    }
  }
  t.same(gaps, [], `${ops.length} operations, none incomplete`);

  // Nothing the server holds is left out by accident, and the id table has no leftovers.
  const documented = new Set(ops.map((o) => o.key));
  const missing = [...access.keys()].filter((k) => !documented.has(k) && !UNDOCUMENTED.test(k));
  t.same(missing, [], 'every route but the dashboard files, /docs and /metrics is documented');
  const stale = Object.keys(OPERATION_IDS).filter((k) => {
    const [method, url] = k.split(' ') as [string, string];
    return !documented.has(`${method} ${openapiPath(url)}`);
  });
  t.same(stale, [], 'every operationId in the table names a documented operation');
});

t.test('the document says who needs a token, and the server agrees', async (t) => {
  const { f, ops } = await load(t);
  const healthz = ops.find((o) => o.key === 'GET /healthz');
  const enroll = ops.find((o) => o.key === 'POST /api/v1/enroll');
  t.same(healthz?.op.security, [], '/healthz is public');
  t.same(enroll?.op.security, [], 'enrolment is public (the box has no operator token)');
  t.notOk(healthz?.op.responses['401'], '/healthz never answers 401');

  // Every operation called without a token: the documented ones with a 401
  // answer 401 (before any handler runs), the public ones never do.
  for (const { key, method, path, op } of ops) {
    const url = path.replace(/\{[^}]+\}/g, '1.0.0');
    const res = await f.fleet.http.inject({
      method: method as 'GET',
      url,
      ...(method === 'GET' ? {} : { payload: {} }),
    });
    if (op.security === undefined) t.equal(res.statusCode, 401, `${key} without a token: 401`);
    else t.not(res.statusCode, 401, `${key} without a token: not refused for it (${res.statusCode})`);
  }
});

t.test('optional query parameters are documented as optional', async (t) => {
  const { ops } = await load(t);
  const param = (key: string, name: string) =>
    ops.find((o) => o.key === key)?.op.parameters?.find((p) => p.name === name);
  for (const key of ['GET /api/v1/alerts', 'GET /api/v1/audit', 'GET /api/v1/devices/{id}/telemetry']) {
    const limit = param(key, 'limit');
    t.ok(limit, `${key} documents limit`);
    t.notOk(limit?.required, `${key}: limit is optional`);
  }
  const res = await startTestFleet(t).then((f) => f.api('GET', '/api/v1/alerts'));
  t.equal(res.status, 200, 'and the server takes a request without it');

  // Body fields with a default, at any depth, are optional to the caller too.
  const body = (key: string) => {
    const op = ops.find((o) => o.key === key)?.op as
      { requestBody?: { content: Record<string, { schema: BodySchema }> } } | undefined;
    return op?.requestBody?.content['application/json']?.schema;
  };
  t.notOk(
    body('POST /api/v1/sites/{siteId}/enrollment-tokens')?.required?.includes('uses'),
    "an enrolment token's uses has a default",
  );
  const rollout = body('POST /api/v1/rollouts');
  t.same(
    rollout?.required,
    ['rings', 'abort'],
    'a rollout needs its rings and abort rule (and a release or an OS snapshot, checked by the service); the rest has defaults',
  );
  t.ok(rollout?.properties?.release && rollout.properties.os, 'its target: a release, or an OS snapshot (os)');
  t.same(rollout?.properties?.abort?.required ?? [], [], 'and the abort rule is all defaults');
});
