// A real box process (the updater as systemd runs it) on 1.0.0 is offered
// 1.1.0, whose signed manifest names the Debian libraries its mediasoup
// worker links. A box lacking one refuses before downloading a byte, keeps
// running 1.0.0, and reports APPL_ERR_OTA_REQUIREMENTS with what is missing;
// a box with them takes it. Once with a simulated package list (the setting
// simulated hardware uses), once against this machine's real dpkg.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import type { ReleaseManifest, ReleaseRequirements } from '@diemcau/shared';
import {
  boxHealth,
  buildArtifact,
  desiredFor,
  makeBox,
  makeKeys,
  readOutbox,
  runBox,
  startOrigin,
  tmpDir,
  type Artifact,
} from './harness.js';

t.setTimeout(300_000);
const dir = tmpDir('diemcau-ota-requirements-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const keys = makeKeys();
const running = buildArtifact(dir, '1.0.0');
const origin = await startOrigin();
t.teardown(() => origin.close());

const requiring = (version: string, requires: ReleaseRequirements): Artifact => {
  const a = buildArtifact(dir, version);
  return { ...a, manifest: { ...a.manifest, requires } satisfies ReleaseManifest };
};
const worker: ReleaseRequirements = {
  arch: process.arch,
  nodeAbi: process.versions.modules,
  debian: [
    { package: 'libssl3', minVersion: '3.0.0' },
    { package: 'libuv1' },
    { package: 'libsrtp2-1', minVersion: '2.5.0' },
    { package: 'libusrsctp2' },
    { package: 'libabsl20220623' },
  ],
};

const offer = async (name: string, a: Artifact, env: Record<string, string>) => {
  origin.add(a);
  origin.bytesSent.clear();
  const box = makeBox(dir, name, running, [keys.trusted]);
  fs.writeFileSync(
    box.desiredFile,
    JSON.stringify(desiredFor(a, keys, [origin.artifactUrl(a.version)], { rolloutId: 'r-1' })),
  );
  await runBox(box, origin.url, [], env);
  const last = readOutbox(box)
    .filter((r) => r.durable)
    .at(-1);
  return {
    box,
    health: boxHealth(box),
    last,
    error: last?.error as { code?: string; message?: string; unmet?: unknown[] } | undefined,
  };
};

t.test('simulated packages: a missing library refuses the release with the reason', async (t) => {
  const list = path.join(dir, 'packages-old-image.txt');
  // An image from before the upgrade: OpenSSL 3 but no libsrtp2 and an older libuv line missing altogether.
  fs.writeFileSync(
    list,
    '# an image built before the new worker\nlibssl3 3.0.11-1~deb12u2\nlibusrsctp2 0.9.5.0-2\nlibabsl20220623 20220623.1-1+deb12u2\n',
  );
  const r = await offer('missing', requiring('1.1.0', worker), { BOX_PACKAGES: list });
  t.equal(r.health.version, '1.0.0', 'still on 1.0.0');
  t.ok(r.health.working);
  t.match(
    r.last,
    { state: 'failed', target: '1.1.0', current: '1.0.0', rolloutId: 'r-1' },
    'the refusal is the outcome the fleet hears',
  );
  t.equal(r.error?.code, 'APPL_ERR_OTA_REQUIREMENTS');
  t.match(r.error?.message, /libuv1 not installed; libsrtp2-1 not installed/);
  t.same(r.error?.unmet, [
    { kind: 'debian', name: 'libuv1', need: null, have: null },
    { kind: 'debian', name: 'libsrtp2-1', need: '2.5.0', have: null },
  ]);
  t.equal(origin.bytesSent.get('1.1.0') ?? 0, 0, 'refused before the download');
  t.notOk(fs.existsSync(path.join(r.box.root, 'versions', '1.1.0')), 'nothing installed');

  // Started again with nothing new installed: refused again (once), not downloaded.
  await runBox(r.box, origin.url, [], { BOX_PACKAGES: list });
  t.equal(boxHealth(r.box).version, '1.0.0');
  t.equal(readOutbox(r.box).filter((x) => x.durable && x.state === 'failed').length, 2, 'one refusal per start');
  t.equal(origin.bytesSent.get('1.1.0') ?? 0, 0);

  // The technician installs them; at the next start the same release, still desired, goes through.
  fs.appendFileSync(list, 'libuv1 1.44.2-1+deb12u1\nlibsrtp2-1 2.5.0-3\n');
  await runBox(r.box, origin.url, [], { BOX_PACKAGES: list });
  t.equal(boxHealth(r.box).version, '1.1.0', 'with the libraries the refused release is installed');
  t.equal(
    readOutbox(r.box)
      .filter((x) => x.durable)
      .at(-1)?.state,
    'committed',
  );
});

t.test('another architecture or Node ABI is refused too', async (t) => {
  const list = path.join(dir, 'packages-full.txt');
  fs.writeFileSync(list, '');
  const r = await offer('abi', requiring('1.2.0', { nodeAbi: '1', arch: process.arch, debian: [] }), {
    BOX_PACKAGES: list,
  });
  t.equal(r.health.version, '1.0.0');
  t.equal(r.error?.code, 'APPL_ERR_OTA_REQUIREMENTS');
  t.same(r.error?.unmet, [{ kind: 'node-abi', name: 'node-abi', need: '1', have: process.versions.modules }]);
});

const hasDpkg = (() => {
  try {
    execFileSync('dpkg-query', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

t.test(
  "the real dpkg: this machine's packages decide",
  { skip: hasDpkg ? false : 'no dpkg-query on this machine' },
  async (t) => {
    const r = await offer(
      'dpkg-missing',
      requiring('1.3.0', {
        debian: [{ package: 'libssl3', minVersion: '3.0.0' }, { package: 'diemcau-no-such-package' }],
      }),
      {},
    );
    t.equal(r.health.version, '1.0.0');
    t.equal(r.error?.code, 'APPL_ERR_OTA_REQUIREMENTS');
    t.same(
      r.error?.unmet,
      [{ kind: 'debian', name: 'diemcau-no-such-package', need: null, have: null }],
      'libssl3 is installed here, the other is not',
    );
    const ok = await offer(
      'dpkg-ok',
      requiring('1.3.1', { debian: [{ package: 'libssl3', minVersion: '3.0.0' }] }),
      {},
    );
    t.equal(ok.health.version, '1.3.1');
    t.equal(ok.last?.state, 'committed');
  },
);
