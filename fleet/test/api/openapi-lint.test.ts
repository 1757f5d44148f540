import t from 'tap';
import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core';
import { startTestFleet } from '../helpers/fleet.js';

// The fleet's OpenAPI document, as a real fleet serves it, checked by a
// standard OpenAPI linter (Redocly's) with its `recommended` rules. Warnings
// count as failures too: the recommended warnings (an operationId, a 2xx and a
// 4xx on every operation, a license) are what generated clients and readers
// of the document lean on.
//
// One rule is off for one operation: `operation-4xx-response` on GET /healthz.
// It takes no input and no token, so there is no 4xx it can answer, and
// documenting one it never gives would make the contract lie. Every other
// operation is held to the rule.
const ALLOWED = new Set(['operation-4xx-response #/paths/~1healthz/get/responses']);

async function lint(source: string): Promise<NormalizedProblem[]> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source, absoluteRef: 'fleet-openapi.json', config });
  return problems.filter((p) => !ALLOWED.has(`${p.ruleId} ${p.location[0]?.pointer ?? ''}`));
}

const describe = (p: NormalizedProblem): string =>
  `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`;

t.test("the served document passes the linter's recommended rules", async (t) => {
  const f = await startTestFleet(t);
  const res = await fetch(`http://127.0.0.1:${f.fleet.httpPort}/docs/json`);
  t.equal(res.status, 200, '/docs/json is served without a token');
  const source = await res.text();
  const doc = JSON.parse(source) as { paths: Record<string, Record<string, unknown>> };
  const operations = Object.values(doc.paths).reduce((n, p) => n + Object.keys(p).length, 0);
  const problems = await lint(source);
  t.comment(`${operations} operations, ${problems.length} linter problems`);
  t.same(problems.map(describe), [], 'no errors and no warnings');
});

t.test('the linter is really run: a document missing what we add is refused', async (t) => {
  const f = await startTestFleet(t);
  const doc = (await f.api('GET', '/docs/json', { token: null })).body as {
    servers?: unknown;
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
  delete doc.servers;
  const get = doc.paths['/api/v1/sites']?.get;
  t.ok(get, 'GET /api/v1/sites is documented');
  delete get!.operationId;
  const rules = new Set((await lint(JSON.stringify(doc))).map((p) => p.ruleId));
  t.ok(rules.has('no-empty-servers'), 'a document without servers is flagged');
  t.ok(rules.has('operation-operationId'), 'an operation without an operationId is flagged');
});
