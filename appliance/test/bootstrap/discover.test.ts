import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { BOOTSTRAP_FILE_NAME } from '@diemcau/shared';
import { discoverBootstrap, searchFromEnv } from '../../src/bootstrap/discover.js';

async function tree(t: Test) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'diemcau-boot-'));
  t.teardown(() => fs.rm(root, { recursive: true, force: true }));
  const media = path.join(root, 'media');
  const boot = path.join(root, 'boot');
  const etc = path.join(root, 'etc');
  await Promise.all([media, boot, etc].map((d) => fs.mkdir(d, { recursive: true })));
  const env = { DIEMCAU_BOOTSTRAP_REMOVABLE_ROOTS: media, DIEMCAU_BOOTSTRAP_DIRS: `${boot}:${etc}` };
  return { root, media, boot, etc, env };
}

const write = async (dir: string, content: unknown) => {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, BOOTSTRAP_FILE_NAME), typeof content === 'string' ? content : JSON.stringify(content));
};

t.test('a USB stick wins over /boot and the environment', async (t) => {
  const d = await tree(t);
  await write(path.join(d.media, 'clerk', 'USB'), { v: 1, fleetUrl: 'http://fleet.local:8080', token: 'usb-token-123' });
  await write(d.boot, { v: 1, fleetUrl: 'http://fleet.local:8080', token: 'boot-token-123' });
  const r = await discoverBootstrap(searchFromEnv({ ...d.env, DIEMCAU_FLEET_URL: 'http://env:1' }));
  t.equal(r.found?.bootstrap.token, 'usb-token-123');
  t.match(r.found?.source, { kind: 'file', file: path.join(d.media, 'clerk', 'USB', BOOTSTRAP_FILE_NAME) });
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
  const env = await discoverBootstrap(searchFromEnv({ ...d.env, DIEMCAU_FLEET_URL: 'http://127.0.0.1:9', DIEMCAU_ENROLL_TOKEN: 'env-token-123' }));
  t.same(env.found, { bootstrap: { v: 1, fleetUrl: 'http://127.0.0.1:9', token: 'env-token-123' }, source: { kind: 'env' } });
  const bad = await discoverBootstrap(searchFromEnv({ ...d.env, DIEMCAU_FLEET_URL: 'ftp://nope' }));
  t.equal(bad.found, null);
  t.equal(bad.rejected[0]!.file, 'environment');
});
