// Connections before and around the login: sockets that never send CONNECT,
// too many sockets from one address, and failed logins from an address shared
// with good boxes (a commune's NAT: here, everything comes from 127.0.0.1).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { MqttClient } from 'mqtt';
import type { EnrolResponse } from '@diemcau/shared';
import { connectDevice, startTestFleet, type TestFleet } from '../helpers/fleet.js';
import { RawClient } from './raw-client.js';

const metric = async (api: TestFleet['api'], line: RegExp): Promise<number> => {
  const res = await api<string>('GET', '/metrics');
  const m = res.body.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
};

const creds = (a: EnrolResponse, password = a.mqtt.password) => ({
  clientId: a.deviceId,
  username: a.deviceId,
  password: Buffer.from(password),
});

type Teardown = { teardown(fn: () => unknown): void };

async function open(t: Teardown, port: number): Promise<RawClient> {
  const c = await RawClient.open(port);
  t.teardown(() => c.close());
  return c;
}

const within = <T>(p: Promise<T>, ms: number, otherwise: T): Promise<T> =>
  Promise.race([p, new Promise<T>((r) => setTimeout(() => r(otherwise), ms))]);

/** One login attempt on a fresh connection: the CONNACK code, or 'closed' when cut before any answer. */
async function attempt(t: Teardown, port: number, o: Parameters<RawClient['login']>[0]): Promise<number | 'closed'> {
  const c = await open(t, port);
  const rc = await c.login(o);
  c.close();
  return rc;
}

t.test('a socket that sends no CONNECT is closed after the connect timeout, and counted', async (t) => {
  const { api, fleet } = await startTestFleet(t, { mqttConnectTimeoutMs: 300 });
  const idle = await open(t, fleet.mqttPort);
  t.equal(
    await within(
      idle.closed.then(() => 'closed'),
      5000,
      'still open',
    ),
    'closed',
  );
  t.equal(await metric(api, /^diemcau_mqtt_limits_total\{limit="connect-timeout"\}/), 1);
});

t.test('connections per address stop at the cap; a freed slot is usable again', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t, { mqttMaxConnectionsPerAddress: 3 });
  const a = await enrol('yb-city');
  const held = [await open(t, fleet.mqttPort), await open(t, fleet.mqttPort), await open(t, fleet.mqttPort)];
  const extra = await open(t, fleet.mqttPort);
  t.equal(
    await within(
      extra.closed.then(() => 'closed'),
      5000,
      'still open',
    ),
    'closed',
    'the fourth is closed at once',
  );
  t.equal(await metric(api, /^diemcau_mqtt_limits_total\{limit="connections-per-address"\}/), 1, 'counted');
  t.notOk(
    held.some((c) => c.isClosed),
    'the first three are untouched',
  );
  held[0]!.close();
  await held[0]!.closed;
  // The slot is released when the broker sees the close; a retry or two may still find it taken.
  let rc: number | 'closed' = 'closed';
  for (let i = 0; i < 20 && rc === 'closed'; i++) {
    rc = await attempt(t, fleet.mqttPort, creds(a));
    if (rc === 'closed') await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(rc, 0, 'a box logs in on the freed slot');
});

t.test('a login flood from a shared address does not lock out a good box behind it', async (t) => {
  // Small limits, so the flood goes well past them.
  const { api, enrol, fleet } = await startTestFleet(t, { mqttMaxFailuresPerMin: 3, mqttMaxFailedIdsPerAddress: 10 });
  const good = await enrol('yb-city');
  const port = fleet.mqttPort;
  let guesses = 0;
  const flood = async (rounds: number) => {
    for (let r = 0; r < rounds; r++) {
      const i = guesses++;
      // Guesses at the good box's password, the same wrong one over and over (a box with stale
      // credentials), and a made-up device (a revoked box retrying forever).
      t.equal(await attempt(t, port, creds(good, `guess-${i}`)), 4, `guess ${i} refused`);
      t.equal(await attempt(t, port, creds(good, 'old-password')), 4);
      t.equal(
        await attempt(t, port, { clientId: 'dev-revoked', username: 'dev-revoked', password: Buffer.from('x') }),
        4,
      );
    }
  };
  const flooding = flood(15);
  // The good box logs in for the first time during the flood (its password not yet verified since start).
  const box: MqttClient = await connectDevice(t, good);
  await flooding;
  t.ok(box.connected, 'the good box is connected and stays connected');
  box.end(true);
  const again = await connectDevice(t, good);
  t.ok(again.connected, 'and it can reconnect right after the flood');
  await flood(3);
  t.ok(again.connected);
  t.equal(fleet.presence.online, 1);
  t.equal(await metric(api, /^diemcau_mqtt_auth_failures_total\{reason="throttled"\}/), 0, 'the address was never cut');
  // 'old-password' went through scrypt once; every repeat was refused without it.
  t.equal(
    await metric(api, /^diemcau_mqtt_auth_failures_total\{reason="repeated-password"\}/),
    17,
    'repeats of a refused password cost no scrypt',
  );
  t.equal(
    await metric(api, /^diemcau_mqtt_auth_failures_total\{reason="bad-password"\}/),
    18 + 1,
    'each new guess was checked',
  );
});

t.test('only wrong passwords for many real devices cut an address at accept; made-up ids never do', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t, { mqttMaxFailedIdsPerAddress: 5 });
  const a = await enrol('yb-city');
  const others = [];
  for (let i = 0; i < 6; i++) others.push(await enrol('yb-city'));
  const port = fleet.mqttPort;
  const wrong = (c: { deviceId: string }) => ({
    clientId: c.deviceId,
    username: c.deviceId,
    password: Buffer.from('x'),
  });
  // Made-up ids cost no password check to refuse: however many fail, anyone
  // sharing the address (a NAT) could otherwise shut its boxes out for free.
  for (let i = 0; i < 12; i++)
    t.equal(
      await attempt(t, port, {
        clientId: `dev-made-up-${i}`,
        username: `dev-made-up-${i}`,
        password: Buffer.from('x'),
      }),
      4,
    );
  // A stale box: one real id failing many times never cuts its address.
  for (let i = 0; i < 12; i++) t.equal(await attempt(t, port, wrong(others[0]!)), 4);
  for (let i = 1; i < 6; i++) t.equal(await attempt(t, port, wrong(others[i]!)), 4);
  // Six different real devices have now refused wrong passwords from this address, and no box logged in from it.
  t.equal(
    await attempt(t, port, { clientId: 'dev-made-up-x', username: 'dev-made-up-x', password: Buffer.from('x') }),
    'closed',
    'cut at accept',
  );
  t.equal(
    await attempt(t, port, creds(a)),
    'closed',
    'a good box arriving now waits out the minute too: the one case that can',
  );
  t.ok((await metric(api, /^diemcau_mqtt_auth_failures_total\{reason="throttled"\}/)) >= 2);
});

t.test('an address with a box logged in on it is never cut, whatever is scanned from it', async (t) => {
  const { enrol, fleet } = await startTestFleet(t, { mqttMaxFailedIdsPerAddress: 5 });
  const a = await enrol('yb-city');
  const b = await enrol('yb-city');
  const box = await connectDevice(t, a);
  const port = fleet.mqttPort;
  for (let i = 0; i < 20; i++)
    t.equal(
      await attempt(t, port, { clientId: `dev-scan-${i}`, username: `dev-scan-${i}`, password: Buffer.from('x') }),
      4,
    );
  const other = await connectDevice(t, b);
  t.ok(other.connected, 'another good box behind the same address gets in');
  t.ok(box.connected);
});

t.test(
  'over TLS: a socket that never starts its handshake is closed after the connect timeout, and counts against its address',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'diemcau-tls-limits-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const { api, fleet } = await startTestFleet(t, {
      tlsCert: join(dir, 'cert.pem'),
      tlsKey: join(dir, 'key.pem'),
      mqttConnectTimeoutMs: 500,
      mqttMaxConnectionsPerAddress: 2,
    });
    const [a, b] = [await open(t, fleet.mqttPort), await open(t, fleet.mqttPort)];
    const c = await open(t, fleet.mqttPort);
    t.equal(
      await within(
        c.closed.then(() => 'closed'),
        5000,
        'still open',
      ),
      'closed',
      'a third raw socket is over the cap',
    );
    t.equal(await metric(api, /^diemcau_mqtt_limits_total\{limit="connections-per-address"\}/), 1);
    t.equal(
      await within(
        Promise.all([a.closed, b.closed]).then(() => 'closed'),
        5000,
        'still open',
      ),
      'closed',
      'the silent two are closed by the handshake timeout',
    );
  },
);

t.test('an address refusing fast is slowed, not shut: a good box behind it still logs in', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t, { mqttSlowAfterRefusalsPerSec: 3 });
  const good = await enrol('yb-city');
  const port = fleet.mqttPort;
  const bad = Array.from({ length: 6 }, (_, i) =>
    attempt(t, port, { clientId: `dev-made-up-${i}`, username: `dev-made-up-${i}`, password: Buffer.from('x') }),
  );
  t.same(await Promise.all(bad), [4, 4, 4, 4, 4, 4], 'bad logins are refused as before');
  t.equal(await attempt(t, port, creds(good)), 0, 'the good box logs in');
  t.ok((await metric(api, /^diemcau_mqtt_limits_total\{limit="slowed"\}/)) >= 1, 'slowed connections are counted');
});
