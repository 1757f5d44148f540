// Signalling over HTTPS with a certificate the operator supplies, issued by
// the province's CA (here a throwaway CA made by the test with openssl): a
// downstream edge links to an https upstream trusting the CA the box stored at
// enrolment, the agent's client trusts DIEMCAU_CA_FILE, and a client that
// does not trust the CA is refused. A half configuration refuses to start.
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { EdgeClient } from '../../src/media/client.js';
import { edgeLinkFromEnv } from '../../src/media/agent-link.js';
import { signalCall } from '../../src/media/signal-client.js';
import { makeCerts } from '../helpers/certs.js';
import { edgeStartRefused, node, plansFor, spawnEdge, tempDir, until, type EdgeProc } from './helpers.js';

const M = 'm-tls';

t.test('edges signal over HTTPS with the province CA; a client that does not trust it is refused', async (t) => {
  const dir = tempDir('diemcau-edge-tls-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const province = makeCerts(path.join(dir, 'province'), 'province test CA');
  const rogue = makeCerts(path.join(dir, 'rogue'), 'rogue test CA');
  const caPem = province.caPem;
  const edges: EdgeProc[] = [];
  t.teardown(async () => {
    await Promise.all(edges.map((e) => e.kill()));
  });

  const core = await spawnEdge({
    edgeId: 'core',
    role: 'core',
    ca: caPem,
    env: { DIEMCAU_EDGE_TLS_CERT: province.certFile, DIEMCAU_EDGE_TLS_KEY: province.keyFile },
  });
  edges.push(core);
  t.match(core.url, /^https:\/\/127\.0\.0\.1:\d+$/, 'the edge serves https');
  t.equal((await core.api('GET', '/media/v1/health')).status, 200, 'a client trusting the CA is served');
  await t.rejects(
    signalCall(`${core.url}/media/v1/health`, { method: 'GET', timeoutMs: 5000 }),
    /self-signed|unable to verify|certificate/i,
    'a client that does not trust the CA is refused',
  );
  await t.rejects(
    signalCall(`${core.url}/media/v1/health`, {
      method: 'GET',
      ca: rogue.caPem,
      timeoutMs: 5000,
    }),
    /self-signed|unable to verify|certificate/i,
    'so is one trusting another CA',
  );
  await t.rejects(fetch(`${core.url}/media/v1/health`), 'and a plain fetch');

  // cA: the CA the box stored at enrolment (identity.json's caCert); cB: trusts a rogue CA only.
  const dataA = tempDir('diemcau-edge-tls-a-');
  fs.writeFileSync(
    path.join(dataA, 'identity.json'),
    JSON.stringify({ v: 1, deviceId: 'cA', siteId: 'site-a', caCert: caPem }),
  );
  const cA = await spawnEdge({ edgeId: 'cA', hardware: 'simulated', env: { DIEMCAU_DATA_DIR: dataA } });
  edges.push(cA);
  const cB = await spawnEdge({
    edgeId: 'cB',
    env: { DIEMCAU_CA_FILE: rogue.caFile, DIEMCAU_DATA_DIR: tempDir('diemcau-edge-tls-b-') },
  });
  edges.push(cB);
  const nCore = node(core, null, null);
  for (const [n, p] of plansFor(M, [nCore, node(cA, 'site-a', nCore), node(cB, 'site-b', nCore)], 'site-a'))
    await n.edge.plan(p);

  const streams = await until("cA's room at the core over an https link", async () => {
    const s = await core.streams(M);
    return s.length === 2 ? s : null;
  });
  t.same(
    streams.map((s) => s.siteId),
    ['site-a', 'site-a'],
    "the link over HTTPS carries cA's camera and microphone",
  );
  await until(
    'cB failing to link',
    async () =>
      cB.logs.some((l) => /upstream link (failed|down)/.test(l) && /certificate|self-signed|verify/i.test(l))
        ? true
        : null,
    30_000,
  );
  t.pass('cB, which does not trust the province CA, cannot link (its log names the certificate)');
  const coreLinks = (await core.stats()).meetings[0]!.links.map((l) => l.peerEdgeId);
  t.same(coreLinks, ['cA'], "the core holds cA's link only");

  // The agent's client: DIEMCAU_CA_FILE read by the agent's edge link config.
  const config = edgeLinkFromEnv(
    { DIEMCAU_EDGE_URL: core.url, DIEMCAU_EDGE_ADMIN_TOKEN: core.adminToken, DIEMCAU_CA_FILE: province.caFile },
    'simulated',
  );
  t.equal(config.kind, 'edge');
  const log = pino({ level: 'silent' });
  const trusted = new EdgeClient({
    url: core.url,
    adminToken: core.adminToken,
    log,
    ...(config.kind === 'edge' && config.ca ? { ca: config.ca } : {}),
  });
  t.equal((await trusted.stats()).edgeId, 'core', 'the agent reads stats over https trusting the CA');
  await t.rejects(
    new EdgeClient({ url: core.url, adminToken: core.adminToken, log }).stats(),
    'an agent client without the CA is refused',
  );
  t.match(
    edgeLinkFromEnv(
      {
        DIEMCAU_EDGE_URL: core.url,
        DIEMCAU_EDGE_ADMIN_TOKEN: core.adminToken,
        DIEMCAU_CA_FILE: path.join(dir, 'missing.pem'),
      },
      'simulated',
    ),
    { kind: 'invalid', problems: [/DIEMCAU_CA_FILE/] },
    'an unreadable CA file is a config error, not "trust anyone"',
  );
});

t.test('half a TLS configuration refuses to start', async (t) => {
  const dir = tempDir('diemcau-edge-tls-half-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { certFile: cert } = makeCerts(dir);
  const { code, stderr } = await edgeStartRefused(t, {
    DIEMCAU_EDGE_ID: 'e-half',
    DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(24),
    DIEMCAU_EDGE_TLS_CERT: cert,
  });
  t.equal(code, 2, 'a config error, never plain HTTP instead');
  t.match(stderr, /DIEMCAU_EDGE_TLS_KEY: required with DIEMCAU_EDGE_TLS_CERT/);
});
