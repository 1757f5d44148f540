// The edge's OpenAPI document, as a real edge process serves it: it passes a
// standard OpenAPI linter (Redocly's `recommended` rules, warnings included),
// it says who needs which token and the edge agrees, and live answers of the
// edge (successes and refusals) match the schemas it documents for them.
//
// One rule is off for three operations: `operation-4xx-response` on
// GET /media/v1/health, GET /media/v1/join.js and GET /favicon.ico. They take no input and no
// token, so there is no 4xx they can answer, and documenting one they never
// give would make the contract lie. Every other operation is held to it.
import http from 'node:http';
import t from 'tap';
import { Ajv } from 'ajv';
import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core';
import type { MediaPlan } from '@diemcau/shared';
import { spawnEdge, tempDir, token, type EdgeProc } from './helpers.js';

const ALLOWED = new Set([
  'operation-4xx-response #/paths/~1media~1v1~1health/get/responses',
  'operation-4xx-response #/paths/~1media~1v1~1join.js/get/responses',
  'operation-4xx-response #/paths/~1favicon.ico/get/responses',
]);

interface Operation {
  operationId?: string;
  summary?: string;
  security?: unknown[];
  responses: Record<string, { description?: string; content?: Record<string, { schema?: object }> }>;
}
interface Document {
  servers?: unknown[];
  components: { schemas: Record<string, object> };
  paths: Record<string, Record<string, Operation>>;
}

const M = 'm-doc';
const plan = (edgeId: string, revision = 1): MediaPlan => ({
  v: 1,
  revision,
  edgeId,
  meetings: [
    {
      meetingId: M,
      title: 'giao ban',
      role: 'host',
      upstream: null,
      acceptToken: token(),
      downstream: [],
      localSiteId: 'xa-a',
      chairSiteId: 'xa-a',
      floorSiteId: null,
      rollCallSiteId: null,
      mutedAll: false,
      state: 'live',
    },
  ],
});

async function lint(source: string): Promise<NormalizedProblem[]> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source, absoluteRef: 'edge-openapi.json', config });
  return problems.filter((p) => !ALLOWED.has(`${p.ruleId} ${p.location[0]?.pointer ?? ''}`));
}
const describe = (p: NormalizedProblem): string =>
  `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`;

let edge: EdgeProc;
let source = '';
let doc: Document;
t.before(async () => {
  edge = await spawnEdge({
    edgeId: 'e-doc',
    role: 'site',
    env: { DIEMCAU_DATA_DIR: tempDir('diemcau-edge-doc-'), DIEMCAU_EDGE_MAX_PEERS_PER_TOKEN: '2' },
  });
  const res = await fetch(`${edge.url}/media/v1/openapi.json`);
  if (res.status !== 200) throw new Error(`GET /media/v1/openapi.json -> ${res.status}`);
  source = await res.text();
  doc = JSON.parse(source) as Document;
  await edge.plan(plan(edge.edgeId));
});
t.teardown(() => edge?.kill());

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([m, op]) => ({ method: m.toUpperCase(), path, op })),
  );

t.test("the served document passes the linter's recommended rules", async (t) => {
  const problems = await lint(source);
  t.comment(`${operations().length} operations, ${problems.length} linter problems`);
  t.same(problems.map(describe), [], 'no errors and no warnings');
  // The linter is really run: a document missing what we add is refused.
  const broken = JSON.parse(source) as Document & { servers?: unknown };
  delete broken.servers;
  delete broken.paths['/media/v1/stats']!['get']!.operationId;
  const rules = new Set((await lint(JSON.stringify(broken))).map((p) => p.ruleId));
  t.ok(
    rules.has('no-empty-servers') && rules.has('operation-operationId'),
    'a document without servers or an operationId is flagged',
  );
});

t.test('every operation is documented whole, and the edge agrees on who needs a token', async (t) => {
  const ops = operations();
  t.equal(ops.length, 29, 'the 29 operations of the edge');
  const gaps = ops.flatMap(({ method, path, op }) => [
    ...(op.operationId ? [] : [`${method} ${path}: no operationId`]),
    ...(op.summary ? [] : [`${method} ${path}: no summary`]),
    ...(Object.keys(op.responses).some((s) => s.startsWith('2')) ? [] : [`${method} ${path}: no 2xx`]),
    ...(Object.values(op.responses).every((r) => r.description && r.description !== 'Default Response')
      ? []
      : [`${method} ${path}: an answer without its description`]),
  ]);
  t.same(gaps, [], 'operationId, summary, a 2xx and described answers everywhere');
  const open = ops
    .filter((o) => o.op.security?.length === 0)
    .map((o) => `${o.method} ${o.path}`)
    .sort();
  t.same(
    open,
    [
      'GET /favicon.ico',
      'GET /kiosk',
      'GET /kiosk/state',
      'GET /media/v1/health',
      'GET /media/v1/join',
      'GET /media/v1/join.js',
    ],
    'public: health, the join page, the icon, the kiosk (this box only)',
  );

  // Each operation called without a token (from this box): those that name a
  // token scheme answer 401 before anything else, the others never do.
  for (const { method, path, op } of ops) {
    const url = edge.url + path.replace('{meetingId}', M).replace(/\{[^}]+\}/g, 'x');
    const res = await fetch(url, {
      method,
      ...(method === 'GET' || method === 'DELETE'
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: '{}' }),
    });
    await res.text();
    if (op.security?.length === 0) t.not(res.status, 401, `${method} ${path} without a token: ${res.status}`);
    else t.equal(res.status, 401, `${method} ${path} without a token: 401`);
    if (op.security?.length !== 0) t.ok(op.responses['401'], `${method} ${path} documents its 401`);
  }

  // The kiosk needs no token but answers this box only: from another host
  // (127.0.0.2 stands for one; Linux routes all of 127/8 to this box) it is a
  // documented 401.
  const fromElsewhere = (p: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const u = new URL(edge.url);
      const req = http.get(
        { host: u.hostname, port: Number(u.port), path: p, localAddress: '127.0.0.2', agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once('error', reject);
    });
  for (const p of ['/kiosk', '/kiosk/state']) {
    t.equal(await fromElsewhere(p), 401, `GET ${p} from another host: 401`);
    t.ok(doc.paths[p]?.['get']?.responses['401'], `GET ${p} documents its 401`);
  }
  t.equal(await fromElsewhere('/media/v1/health'), 200, 'while the public routes answer anyone');
  t.equal(await fromElsewhere('/favicon.ico'), 200, 'the icon too');
  const icon = await fetch(`${edge.url}/favicon.ico`);
  const bytes = Buffer.from(await icon.arrayBuffer());
  t.equal(icon.headers.get('content-type'), 'image/x-icon', 'the icon is an ICO');
  t.same([bytes.readUInt16LE(2), bytes.readUInt16LE(4)], [1, 1], 'with one image');
  t.equal(bytes.subarray(22, 26).toString('latin1'), '\x89PNG', 'a PNG, where its directory entry points');
});

t.test('live answers match the schemas the document gives for them', async (t) => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const check = async (
    method: string,
    path: string,
    tok: string | null,
    body?: unknown,
    meetingId = M,
  ): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(edge.url + path.replace('{meetingId}', meetingId), {
      method,
      headers: {
        ...(tok ? { authorization: `Bearer ${tok}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    const value: unknown = text ? JSON.parse(text) : null;
    const template = path.replace(/\/peers\/[^/]+/, '/peers/{peerId}');
    const documented = doc.paths[template]?.[method.toLowerCase()]?.responses[String(res.status)];
    const schema = documented?.content?.['application/json']?.schema;
    if (!documented) t.fail(`${method} ${template} answered ${res.status}, which it does not document`);
    else if (res.status === 204) t.equal(text, '', `${method} ${template} 204 has no body`);
    else if (!schema) t.fail(`${method} ${template} ${res.status} has no JSON schema`);
    else {
      const validate = ajv.compile({ ...schema, components: doc.components });
      t.ok(validate(value), `${method} ${template} ${res.status} matches its schema`, {
        errors: validate.errors,
        value,
      });
    }
    return { status: res.status, body: value };
  };
  const admin = edge.adminToken;
  const join = edge.joinToken;
  t.equal((await check('PUT', '/media/v1/plan', admin, plan(edge.edgeId, 2))).status, 200);
  t.equal(
    (await check('PUT', '/media/v1/plan', admin, plan('another-edge', 3))).status,
    409,
    'a plan for another edge',
  );
  for (const p of [
    '/media/v1/health',
    '/media/v1/stats',
    '/media/v1/refusals',
    '/media/v1/dump',
    '/media/v1/meetings/{meetingId}/streams',
  ]) {
    t.equal((await check('GET', p, admin)).status, 200, `GET ${p}`);
  }
  const peer = await check('POST', '/media/v1/meetings/{meetingId}/peers', join, {});
  const peerId = (peer.body as { peerId: string }).peerId;
  const P = `/media/v1/meetings/{meetingId}/peers/${peerId}`;
  t.equal((await check('POST', `${P}/transports`, join)).status, 201);
  t.equal((await check('GET', `${P}/layout`, join)).status, 200);
  t.equal((await check('GET', `${P}/streams`, join)).status, 200);
  t.equal((await check('GET', '/kiosk/state', null)).status, 200);

  // Refusals, each as the shared error body.
  t.equal((await check('GET', '/media/v1/stats', join)).status, 401, 'the join token on an admin route');
  t.equal(
    (await check('GET', '/media/v1/meetings/{meetingId}/streams', admin, undefined, 'nope')).status,
    404,
    'a meeting not open here',
  );
  t.equal(
    (await check('POST', '/media/v1/meetings/{meetingId}/taps', admin, { producerId: 'x', ip: '10.0.0.5', port: 5004 }))
      .status,
    403,
    'a tap to a disallowed address',
  );
  t.equal(
    (await check('POST', '/media/v1/meetings/{meetingId}/taps', admin, { producerId: 'x', ip: '127.0.0.1' })).status,
    400,
    'a tap without a port',
  );
  t.equal(
    (await check('POST', '/media/v1/meetings/{meetingId}/taps', admin, '{"producerId":')).status,
    400,
    'a body that is not JSON',
  );
  t.equal(
    (await check('PUT', '/media/v1/plan', admin, { pad: 'x'.repeat(300 * 1024) })).status,
    413,
    'a body over 256 KiB',
  );
  await check('POST', '/media/v1/meetings/{meetingId}/peers', join, {});
  const full = await check('POST', '/media/v1/meetings/{meetingId}/peers', join, {});
  t.match(
    full,
    { status: 429, body: { code: 'APPL_ERR_MEDIA_LIMIT', reason: 'peers-per-token' } },
    'a third peer on a token holding two',
  );
  t.equal((await check('DELETE', P, join)).status, 204);
  t.equal((await check('DELETE', P, join)).status, 404, 'a peer already gone');
});
