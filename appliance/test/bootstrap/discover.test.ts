import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { BOOTSTRAP_FILE_NAME } from '@diemcau/shared';
import { discoverBootstrap, searchFromEnv } from '../../src/bootstrap/discover.js';
import { makeCerts } from '../helpers/certs.js';

async function tree(t: Test) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'diemcau-boot-'));
  t.teardown(() => fs.rm(root, { recursive: true, force: true }));
  const media = path.join(root, 'media');
  const boot = path.join(root, 'boot');
  const etc = path.join(root, 'etc');
  await Promise.all([media, boot, etc].map((d) => fs.mkdir(d, { recursive: true })));
  // The image's pin lives here; absent unless a test writes it.
  const pin = path.join(etc, 'fleet-pin.json');
  const env = {
    DIEMCAU_BOOTSTRAP_REMOVABLE_ROOTS: media,
    DIEMCAU_BOOTSTRAP_DIRS: `${boot}:${etc}`,
    DIEMCAU_BOOTSTRAP_PIN: pin,
  };
  return { root, media, boot, etc, pin, env };
}

const write = async (dir: string, content: unknown) => {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(
    path.join(dir, BOOTSTRAP_FILE_NAME),
    typeof content === 'string' ? content : JSON.stringify(content),
  );
};

t.test('no pin in the image (a generic image): a USB stick wins over /boot and the environment', async (t) => {
  const d = await tree(t);
  await write(path.join(d.media, 'clerk', 'USB'), {
    v: 1,
    fleetUrl: 'http://fleet.local:8080',
    token: 'usb-token-123',
  });
  await write(d.boot, { v: 1, fleetUrl: 'http://fleet.local:8080', token: 'boot-token-123' });
  const r = await discoverBootstrap(searchFromEnv({ ...d.env, DIEMCAU_FLEET_URL: 'http://env:1' }));
  t.equal(r.found?.bootstrap.token, 'usb-token-123');
  t.match(r.found?.source, { kind: 'file', file: path.join(d.media, 'clerk', 'USB', BOOTSTRAP_FILE_NAME) });
  t.equal(r.pinned, false, 'says there was no pin: plug-and-play, and anyone with a stick chooses the fleet');
});

t.test('a damaged file is reported and the next place is used', async (t) => {
  const d = await tree(t);
  await write(path.join(d.media, 'STICK'), '{"v":1,"fleetUrl":');
  await write(d.etc, { v: 1, fleetUrl: 'https://fleet.example' });
  const r = await discoverBootstrap(searchFromEnv(d.env));
  t.equal(r.found?.bootstrap.fleetUrl, 'https://fleet.example');
  t.equal(r.found?.bootstrap.token, undefined, 'no token: the box enrols by its serial');
  t.equal(r.rejected.length, 1);
  t.match(r.rejected[0]!.reason, /JSON/);
});

t.test('the environment is the last resort, and nothing found says so', async (t) => {
  const d = await tree(t);
  const none = await discoverBootstrap(searchFromEnv(d.env));
  t.equal(none.found, null);
  const env = await discoverBootstrap(
    searchFromEnv({ ...d.env, DIEMCAU_FLEET_URL: 'http://127.0.0.1:9', DIEMCAU_ENROLL_TOKEN: 'env-token-123' }),
  );
  t.same(env.found, {
    bootstrap: { v: 1, fleetUrl: 'http://127.0.0.1:9', token: 'env-token-123' },
    source: { kind: 'env' },
  });
  const bad = await discoverBootstrap(searchFromEnv({ ...d.env, DIEMCAU_FLEET_URL: 'ftp://nope' }));
  t.equal(bad.found, null);
  t.equal(bad.rejected[0]!.file, 'environment');
});

// ---- the fleet pinned in the image ----

const PROVINCE = 'https://fleet.province.example';
const ATTACKER = 'https://fleet.attacker.example';
const certsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'diemcau-pin-certs-'));
t.teardown(() => fs.rm(certsDir, { recursive: true, force: true }));
await Promise.all(['province', 'attacker'].map((n) => fs.mkdir(path.join(certsDir, n))));
const provinceCa = makeCerts(path.join(certsDir, 'province')).caPem;
const attackerCa = makeCerts(path.join(certsDir, 'attacker')).caPem;

t.test("pinned fleet: a stick naming another fleet is refused and counted; the image's own file is used", async (t) => {
  const d = await tree(t);
  await fs.writeFile(d.pin, JSON.stringify({ v: 1, fleetUrls: [PROVINCE] }));
  await write(path.join(d.media, 'STICK'), { v: 1, fleetUrl: ATTACKER, token: 'attacker-token-1' });
  await write(d.boot, { v: 1, fleetUrl: 'http://fleet.province.example', token: 'boot-token-123' });
  await write(d.etc, { v: 1, fleetUrl: PROVINCE });
  const r = await discoverBootstrap(searchFromEnv(d.env));
  t.equal(r.pinned, true);
  t.equal(r.found?.bootstrap.fleetUrl, PROVINCE, 'the pinned fleet, from /etc/diemcau');
  t.equal(r.found?.bootstrap.token, undefined, 'no token from anywhere else');
  t.same(r.counts, { invalid: 0, refusedByPin: 2 });
  t.match(
    r.rejected,
    [
      {
        file: path.join(d.media, 'STICK', BOOTSTRAP_FILE_NAME),
        code: 'APPL_ERR_BOOTSTRAP_PIN',
        reason: /fleet\.attacker\.example.*not the fleet pinned/,
      },
      {
        file: path.join(d.boot, BOOTSTRAP_FILE_NAME),
        code: 'APPL_ERR_BOOTSTRAP_PIN',
        reason: /http:\/\/fleet\.province\.example/,
      },
    ],
    'another host, and the same host in plain HTTP, are other fleets',
  );
});

t.test(
  "pinned fleet: the commune's stick for the pinned fleet is used (its token, any spelling of the URL)",
  async (t) => {
    const d = await tree(t);
    await fs.writeFile(d.pin, JSON.stringify({ v: 1, fleetUrls: [PROVINCE], caCert: provinceCa }));
    await write(path.join(d.media, 'clerk', 'USB'), {
      v: 1,
      fleetUrl: 'https://FLEET.province.example:443/',
      token: 'commune-token-1',
      caCert: provinceCa.replace(/\n/g, '\r\n'),
    });
    await write(d.etc, { v: 1, fleetUrl: PROVINCE });
    const r = await discoverBootstrap(searchFromEnv(d.env));
    t.equal(r.found?.bootstrap.token, 'commune-token-1', 'the stick still comes first among files that match the pin');
    t.equal(r.found?.bootstrap.caCert, provinceCa, 'the pinned CA is the one the box trusts');
    t.same(r.counts, { invalid: 0, refusedByPin: 0 });
  },
);

t.test(
  'pinned CA: a stick carrying another CA, or plain HTTP, is refused; one without a CA gets the pinned one',
  async (t) => {
    const d = await tree(t);
    await fs.writeFile(d.pin, JSON.stringify({ v: 1, caCert: provinceCa }));
    await write(path.join(d.media, 'A'), { v: 1, fleetUrl: PROVINCE, token: 'attacker-token-1', caCert: attackerCa });
    await write(path.join(d.media, 'B'), { v: 1, fleetUrl: 'http://10.0.0.66:8080', token: 'attacker-token-2' });
    await write(path.join(d.media, 'C'), {
      v: 1,
      fleetUrl: 'https://fleet2.province.example',
      token: 'commune-token-2',
    });
    const r = await discoverBootstrap(searchFromEnv(d.env));
    t.match(r.rejected, [
      {
        file: path.join(d.media, 'A', BOOTSTRAP_FILE_NAME),
        code: 'APPL_ERR_BOOTSTRAP_PIN',
        reason: /CA .*not the CA pinned/,
      },
      { file: path.join(d.media, 'B', BOOTSTRAP_FILE_NAME), code: 'APPL_ERR_BOOTSTRAP_PIN', reason: /plain HTTP/ },
    ]);
    t.equal(
      r.found?.bootstrap.token,
      'commune-token-2',
      'any HTTPS fleet is reachable only with a certificate from the pinned CA',
    );
    t.equal(r.found?.bootstrap.caCert, provinceCa);
  },
);

t.test('a damaged pin fails closed: nothing is used, not even the environment', async (t) => {
  const d = await tree(t);
  await fs.writeFile(d.pin, '{"v":1,"fleetUrls":');
  await write(d.etc, { v: 1, fleetUrl: PROVINCE });
  const r = await discoverBootstrap(searchFromEnv({ ...d.env, DIEMCAU_FLEET_URL: PROVINCE }));
  t.equal(r.found, null);
  t.equal(r.pinned, true);
  t.match(r.rejected[0], { file: d.pin, code: 'APPL_ERR_BOOTSTRAP_PIN', reason: /pin .*unreadable|pin .*invalid/ });
  await fs.writeFile(d.pin, JSON.stringify({ v: 1 }));
  const empty = await discoverBootstrap(searchFromEnv(d.env));
  t.equal(empty.found, null, 'a pin that pins nothing is a mistake, not a generic image');
});

t.test('the environment obeys the pin too', async (t) => {
  const d = await tree(t);
  await fs.writeFile(d.pin, JSON.stringify({ v: 1, fleetUrls: [PROVINCE] }));
  const bad = await discoverBootstrap(searchFromEnv({ ...d.env, DIEMCAU_FLEET_URL: ATTACKER }));
  t.equal(bad.found, null);
  t.match(bad.rejected, [{ file: 'environment', code: 'APPL_ERR_BOOTSTRAP_PIN' }]);
  const good = await discoverBootstrap(
    searchFromEnv({ ...d.env, DIEMCAU_FLEET_URL: `${PROVINCE}/`, DIEMCAU_ENROLL_TOKEN: 'env-token-123' }),
  );
  t.equal(good.found?.bootstrap.token, 'env-token-123');
});
