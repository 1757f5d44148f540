import t, { type Test } from 'tap';
import fc from 'fast-check';
import { startTestFleet, type TestFleet } from '../helpers/fleet.js';
import {
  caseArbitrary,
  protectedTargets,
  publicPrefixes,
  runCases,
  send,
  stateDigest,
  tableCases,
  verdict,
  type ProtectedTarget,
} from '../../../bench/fuzz/http-spellings.js';

// Every protected route of the live fleet (its own route table: a route added
// tomorrow is covered with no change here), under many spellings of its URL,
// over raw TCP so the target reaches the server byte for byte: no token, a
// garbage token, and a viewer's token on writes. Never a 2xx, never past the
// auth hook, and the registry unchanged. Path parameters are real ids (a
// device, the viewer itself), so a DELETE or POST that got through would show.

interface Setup {
  f: TestFleet;
  viewerToken: string;
  targets: ProtectedTarget[];
  prefixes: string[];
}

async function setup(t: Test): Promise<Setup> {
  const f = await startTestFleet(t, { enrollMaxFailuresPerMin: 0 });
  const viewer = await f.api<{ id: string; token: string }>('POST', '/api/v1/operators', {
    body: { name: 'Viewer', role: 'viewer' },
  });
  const device = await f.enrol('yb-city');
  const targets = protectedTargets(f.fleet, { deviceId: device.deviceId, operatorId: viewer.body.id });
  return { f, viewerToken: viewer.body.token, targets, prefixes: publicPrefixes(f.fleet) };
}

t.test('the table: every protected route under every fixed spelling', async (t) => {
  const { f, viewerToken, targets, prefixes } = await setup(t);
  t.ok(targets.length >= 60, `${targets.length} protected route methods`);
  t.ok(
    targets.some((x) => x.route.url === '/api/v1/operators' && x.route.method === 'POST' && x.body?.includes('"role"')),
    'operator creation with a valid body',
  );
  const cases = tableCases(targets);
  const before = await stateDigest(f.fleet);
  const admins = await f.fleet.repos.operators.adminCount();
  const r = await runCases(f.fleet.httpPort, cases, viewerToken, prefixes);
  t.same(r.failures, [], `${r.sent} requests: ${JSON.stringify(r.byStatus)}`);
  t.notOk(
    Object.keys(r.byStatus).some((s) => s.startsWith('2')),
    'no 2xx at all',
  );
  t.equal(await stateDigest(f.fleet), before, 'the registry is unchanged');
  t.equal(await f.fleet.repos.operators.adminCount(), admins, 'no admin created');
  t.ok((r.byStatus['401'] ?? 0) > r.sent / 2, 'most answers are 401');
  t.ok((r.byStatus['403'] ?? 0) > 0, "viewers' writes get 403");
});

t.test('the property: random mixes of encodings, case, slashes, dot segments, prefixes and tails', async (t) => {
  const { f, viewerToken, targets, prefixes } = await setup(t);
  const before = await stateDigest(f.fleet);
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(caseArbitrary(targets), async (c) => {
      const res = await send(f.fleet.httpPort, c, viewerToken);
      sent++;
      const wrong = verdict(c, res, prefixes);
      if (wrong) throw new Error(wrong);
    }),
    { numRuns: 600, seed: 20261202 },
  );
  t.equal(await stateDigest(f.fleet), before, `the registry is unchanged after ${sent} random spellings`);
});

t.test('the run sees a hole when there is one', async (t) => {
  // The oracle itself: a spelling that does reach a handler must be reported.
  const { f, targets, prefixes } = await setup(t);
  const audit = targets.find((x) => x.route.method === 'GET' && x.route.url === '/api/v1/audit')!;
  const res = await send(f.fleet.httpPort, { target: audit, spelling: '/api/v1/audit', credential: 'none' }, '');
  t.equal(
    verdict({ target: audit, spelling: '/api/v1/audit', credential: 'none' }, res, prefixes),
    undefined,
    'a refusal passes',
  );
  const ok = { status: 200, headers: {}, body: '{"items":[]}' };
  t.ok(verdict({ target: audit, spelling: '/%61pi/v1/audit', credential: 'none' }, ok, prefixes), 'a 200 is reported');
  const reached = {
    status: 400,
    headers: {},
    body: '{"code":"FLEET_ERR_BAD_REQUEST","message":"body/name must be string"}',
  };
  t.ok(
    verdict({ target: audit, spelling: '/%61pi/v1/audit', credential: 'none' }, reached, prefixes),
    'a handler-side 400 is reported',
  );
  const notFound = { status: 404, headers: {}, body: '{"code":"FLEET_ERR_NOT_FOUND","message":"rollout x"}' };
  t.ok(
    verdict({ target: audit, spelling: '/api/v1/rollouts/x', credential: 'none' }, notFound, prefixes),
    "a protected handler's 404 is reported",
  );
});
