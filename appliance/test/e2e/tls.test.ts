import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { makeCerts } from '../helpers/certs.js';
import {
  ADMIN_TOKEN,
  provinceSites,
  startAgent,
  startFleet,
  startProgram,
  tempDir,
  until,
  type Fleet,
} from './procs.js';

// The fleet with certificate files configured serves MQTT over TLS and the API
// over HTTPS, and nothing in plain text. A box whose USB stick carries the
// province's CA enrols over HTTPS and connects over mqtts; a box without the
// CA gets nowhere. Real processes throughout, a throwaway CA from openssl.

function httpsJson<T>(url: string, ca: string, method = 'GET'): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What a plain MQTT client gets from the port: never a CONNACK. */
function plainMqtt(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      clientId: 'plain',
      username: 'x',
      password: 'y',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    const done = (what: string) => {
      c.end(true);
      resolve(what);
    };
    c.once('connect', () => done('connected'));
    c.once('error', (err) => done(`error: ${err.message}`));
    c.once('close', () => done('closed'));
  });
}

t.test('agent and fleet over TLS only: HTTPS enrolment, mqtts session, plain ports refuse', async (t) => {
  const root = tempDir(t, 'e2e-tls');
  const certs = makeCerts(root);
  const fleetProc: Fleet = await startFleet(t, {
    dataDir: path.join(root, 'fleet'),
    env: { DIEMCAU_TLS_CERT: certs.certFile, DIEMCAU_TLS_KEY: certs.keyFile },
  });
  const base = `https://127.0.0.1:${fleetProc.httpPort}`;
  const health = await httpsJson<{ status: string }>(`${base}/healthz`, certs.caPem);
  t.equal(health.body.status, 'ok', 'HTTPS answers with the CA trusted');

  const plainHttp = await fetch(`http://127.0.0.1:${fleetProc.httpPort}/healthz`).then(
    (r) => r.status,
    (err: Error) => err.message,
  );
  t.not(plainHttp, 200, `plain HTTP gets no answer (${plainHttp})`);
  t.not(await plainMqtt(fleetProc.mqttPort), 'connected', 'plain MQTT gets no session');
  const metrics = await new Promise<string>((resolve, reject) => {
    https
      .get(`${base}/metrics`, { ca: certs.caPem, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
  t.match(
    metrics,
    /diemcau_mqtt_auth_failures_total\{reason="tls-handshake"\} [1-9]/,
    'the plain MQTT attempt is counted',
  );

  // The operator mints a token over HTTPS; the CA goes onto the stick with it.
  const [siteId] = await provinceSites(
    { ...fleetProc, api: async (_m, p) => (await httpsJson(`${base}${p}`, certs.caPem)).body as never },
    1,
  );
  const stick = path.join(root, 'media', 'clerk', 'STICK');
  const cli = startProgram(
    t,
    'provisioning/src/main.ts',
    {
      DIEMCAU_FLEET_URL: base,
      DIEMCAU_OPERATOR_TOKEN: ADMIN_TOKEN,
      NODE_EXTRA_CA_CERTS: certs.caFile,
    },
    ['token', siteId!, '--out', stick, '--ca', certs.caFile],
  );
  const cliExit = await cli.exited;
  t.equal(cliExit.code, 0, cliExit.code === 0 ? 'provision token wrote the stick' : cli.output().slice(-1000));
  const bootstrap = JSON.parse(fs.readFileSync(path.join(stick, 'diemcau-bootstrap.json'), 'utf8')) as {
    fleetUrl: string;
    caCert?: string;
  };
  t.equal(bootstrap.fleetUrl, base);
  t.equal(bootstrap.caCert, certs.caPem, 'the CA travels on the stick');

  const noFixedDirs = path.join(root, 'empty');
  fs.mkdirSync(noFixedDirs);
  const agent = startAgent(t, {
    fleetUrl: '',
    dataDir: path.join(root, 'agent'),
    env: { DIEMCAU_BOOTSTRAP_REMOVABLE_ROOTS: path.join(root, 'media'), DIEMCAU_BOOTSTRAP_DIRS: noFixedDirs },
  });
  const deviceId = await agent.deviceId();
  const identity = JSON.parse(fs.readFileSync(path.join(agent.dataDir, 'identity.json'), 'utf8')) as {
    mqtt: { url: string };
    siteId: string;
  };
  t.match(identity.mqtt.url, /^mqtts:\/\/127\.0\.0\.1:\d+$/, 'the fleet hands out its TLS broker');
  t.equal(identity.siteId, siteId);
  const dev = await until('the box online over mqtts', async () => {
    const r = await httpsJson<{ online: boolean; siteId: string }>(`${base}/api/v1/devices/${deviceId}`, certs.caPem);
    return r.body.online ? r.body : undefined;
  });
  t.equal(dev.siteId, siteId);

  // A box that does not know the CA refuses the fleet's certificate and keeps retrying.
  const tokenRes = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      `${base}/api/v1/sites/${siteId}/enrollment-tokens`,
      {
        method: 'POST',
        ca: certs.caPem,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve((JSON.parse(text) as { token: string }).token));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
  const stranger = startAgent(t, { fleetUrl: base, token: tokenRes, dataDir: path.join(root, 'stranger') });
  await until(
    'the stranger to refuse the certificate',
    async () => /enrolment failed; retrying/.test(stranger.output()) && /certificate/i.test(stranger.output()),
  );
  t.notOk(fs.existsSync(path.join(stranger.dataDir, 'identity.json')), 'no enrolment without the CA');
});
