// The province CA's certificate served for phones and tablets: the page, the
// DER and PEM files (the same certificate), its fingerprint, no token needed;
// a key or a non-CA certificate given by mistake stops the fleet at start.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startTestFleet } from '../helpers/fleet.js';

const dir = mkdtempSync(join(tmpdir(), 'diemcau-ca-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ossl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
ossl(
  'req',
  '-x509',
  ...ec,
  '-subj',
  '/CN=Test province CA',
  '-addext',
  'basicConstraints=critical,CA:TRUE',
  '-keyout',
  join(dir, 'ca.key'),
  '-out',
  join(dir, 'ca.pem'),
);
ossl(
  'req',
  '-x509',
  ...ec,
  '-subj',
  '/CN=leaf',
  '-addext',
  'basicConstraints=critical,CA:FALSE',
  '-keyout',
  join(dir, 'leaf.key'),
  '-out',
  join(dir, 'leaf.pem'),
);

t.test('the fleet serves the CA certificate to install, with no token', async (t) => {
  const f = await startTestFleet(t, { provinceCaFile: join(dir, 'ca.pem') });
  const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
  const get = (url: string) => f.fleet.http.inject({ method: 'GET', url });
  const page = await get('/ca');
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /text\/html/);
  t.match(page.body, ca.fingerprint256, 'the page shows the fingerprint to compare');
  t.match(page.body, /Android[\s\S]*iPhone/, 'and the steps for both kinds of phone');
  const der = await get('/ca.crt');
  t.equal(der.headers['content-type'], 'application/x-x509-ca-cert');
  t.ok(new X509Certificate(der.rawPayload).raw.equals(ca.raw), '/ca.crt is the certificate, as DER');
  const pem = await get('/ca.pem');
  t.ok(new X509Certificate(pem.body).raw.equals(ca.raw), '/ca.pem is the same certificate');
  t.notMatch(pem.body + page.body, /PRIVATE KEY/, 'never a key');
});

t.test('without one, the routes say which setting is missing', async (t) => {
  const f = await startTestFleet(t);
  const r = await f.fleet.http.inject({ method: 'GET', url: '/ca.crt' });
  t.equal(r.statusCode, 404);
  t.match(r.json(), { code: 'FLEET_ERR_NOT_FOUND', message: /DIEMCAU_PROVINCE_CA_FILE/ });
});

t.test('a key or a leaf certificate given by mistake stops the fleet', async (t) => {
  await t.rejects(startTestFleet(t, { provinceCaFile: join(dir, 'ca.key') }), /cannot read/);
  await t.rejects(startTestFleet(t, { provinceCaFile: join(dir, 'leaf.pem') }), /not a CA certificate/);
});
