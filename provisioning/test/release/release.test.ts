// release:build end to end: a fresh signing key, the real agent bundled by
// esbuild, packaged and signed; the manifest verifies only with the trusted
// public key, names the artifact's true size and hash, and the artifact
// unpacks to an agent that node can load.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { verifyManifest, type SignedManifest, type TrustedKey } from '@diemcau/shared';
import { buildRelease } from '../../src/release/build.js';
import { generateReleaseKey, readSigningKey } from '../../src/release/keys.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-release-test-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const key = generateReleaseKey(path.join(dir, 'keys'));
const trusted = JSON.parse(fs.readFileSync(key.trustedKeysFile, 'utf8')) as TrustedKey[];
const signing = readSigningKey(key.privateKeyFile);
t.equal(signing.keyId, key.keyId, 'key id derived from the private key matches the trusted entry');
t.equal(fs.statSync(key.privateKeyFile).mode & 0o777, 0o600, 'private key readable by its owner only');
t.throws(() => generateReleaseKey(path.join(dir, 'keys')), /refusing to overwrite/);

const created = new Date('2026-05-01T00:00:00Z');
const opts = {
  entry: path.join(repo, 'appliance', 'src', 'main.ts'),
  workspaceDir: path.join(repo, 'appliance'),
  version: '0.9.0',
  minAgentVersion: '0.1.0',
  outDir: path.join(dir, 'out'),
  keyId: signing.keyId,
  privateKeyPem: signing.privateKeyPem,
  created,
};
// Inside before(): esbuild's service does not hold the event loop open, so a
// bare top-level await would let the root test end before the build is done.
let r!: Awaited<ReturnType<typeof buildRelease>>;
t.before(async () => {
  r = await buildRelease(opts);
});

t.test('manifest is signed and true to the artifact', async (t) => {
  const signed = JSON.parse(fs.readFileSync(r.manifestFile, 'utf8')) as SignedManifest;
  const m = verifyManifest(signed, trusted);
  const bytes = fs.readFileSync(r.artifactFile);
  t.equal(m.version, '0.9.0');
  t.equal(m.size, bytes.length);
  t.equal(m.sha256, createHash('sha256').update(bytes).digest('hex'));
  t.equal(m.entry, 'agent.mjs');
  t.ok(
    m.native.some((n) => n.name === 'mediasoup'),
    'native modules listed, not bundled',
  );
  t.throws(
    () => verifyManifest({ ...signed, payload: signed.payload.replace('0.9.0', '0.9.1') }, trusted),
    { code: 'APPL_ERR_OTA_SIGNATURE' },
    'edited manifest refused',
  );
  const other = generateReleaseKey(path.join(dir, 'other-keys'));
  t.throws(
    () => verifyManifest(signed, JSON.parse(fs.readFileSync(other.trustedKeysFile, 'utf8')) as TrustedKey[]),
    { code: 'APPL_ERR_OTA_SIGNATURE' },
    'untrusted key refused',
  );
});

t.test('artifact unpacks to a loadable agent', async (t) => {
  const x = path.join(dir, 'x');
  fs.mkdirSync(x);
  execFileSync('tar', ['-xzf', r.artifactFile, '-C', x]);
  t.same(fs.readdirSync(x).sort(), [
    'agent.mjs',
    'agent.mjs.map',
    'edge.mjs',
    'edge.mjs.map',
    'join.bundle.js',
    'manifest.json',
    'node_modules',
    'os-update.mjs',
    'ota-boot.mjs',
    'package.json',
  ]);
  execFileSync(process.execPath, ['--check', path.join(x, 'agent.mjs')]);
  // The OS update unit's program (the image installs a root-owned copy) loads on its own.
  execFileSync(process.execPath, ['--check', path.join(x, 'os-update.mjs')]);
  // The pre-start check runs on a box without the layout and still exits 0 (it must never block the agent).
  execFileSync(process.execPath, [path.join(x, 'ota-boot.mjs')], {
    env: {
      ...process.env,
      DIEMCAU_OTA_ROOT: path.join(dir, 'no-root'),
      DIEMCAU_OTA_STATE_DIR: path.join(dir, 'no-state'),
    },
    stdio: 'pipe',
  });
  t.match(
    JSON.parse(fs.readFileSync(path.join(x, 'manifest.json'), 'utf8')),
    { version: '0.9.0', entry: 'agent.mjs' },
    'an image builder can read the version inside',
  );
});

t.test('the unpacked edge.mjs runs and serves the join script with no esbuild installed', async (t) => {
  const x = path.join(dir, 'x-edge');
  fs.mkdirSync(x);
  execFileSync('tar', ['-xzf', r.artifactFile, '-C', x]);
  // Only the release's own node_modules (its natives): no esbuild, nothing from the repository.
  const proc = spawn(process.execPath, [path.join(x, 'edge.mjs')], {
    cwd: x,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      DIEMCAU_EDGE_ID: 'edge-release',
      DIEMCAU_EDGE_ROLE: 'site',
      DIEMCAU_EDGE_HOST: '127.0.0.1',
      DIEMCAU_EDGE_PORT: '0',
      DIEMCAU_EDGE_ADMIN_TOKEN: 'release-test-admin-token',
      DIEMCAU_EDGE_HARDWARE: 'none',
      DIEMCAU_DATA_DIR: path.join(dir, 'edge-data'),
    },
  });
  t.teardown(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m =
        /"url":"(http:[^"]+)"[^\n]*"msg":"edge listening"|"msg":"edge listening"[^\n]*"url":"(http:[^"]+)"/.exec(out);
      if (m) resolve((m[1] ?? m[2])!);
    });
    proc.once('exit', (code) => reject(new Error(`edge.mjs exited ${code}:\n${out}`)));
  });
  const res = await fetch(`${url}/media/v1/join.js`);
  t.equal(res.status, 200, 'join script served');
  t.equal(await res.text(), fs.readFileSync(path.join(x, 'join.bundle.js'), 'utf8'), 'the pre-bundled script');
  t.equal((await fetch(`${url}/kiosk`)).status, 200, 'kiosk page served');
  proc.kill('SIGTERM');
  await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
});

t.test('the source maps name sources by their place in the repository, not on the build server', async (t) => {
  const x = path.join(dir, 'maps');
  fs.mkdirSync(x);
  execFileSync('tar', ['-xzf', r.artifactFile, '-C', x, './agent.mjs.map', './edge.mjs.map']);
  for (const map of ['agent.mjs.map', 'edge.mjs.map']) {
    const sources = (JSON.parse(fs.readFileSync(path.join(x, map), 'utf8')) as { sources: string[] }).sources;
    t.same(
      sources.filter((s) => s.startsWith('../') || path.isAbsolute(s)),
      [],
      `${map}: no source outside the repository`,
    );
    t.ok(
      sources.some((s) => s.startsWith('appliance/src/')),
      `${map}: the agent's sources as appliance/src/…`,
    );
  }
});

t.test('same input, same bytes', async (t) => {
  const again = await buildRelease({ ...opts, outDir: path.join(dir, 'out2') });
  t.equal(again.manifest.sha256, r.manifest.sha256, 'reproducible artifact');
});

t.test('the natives travel in the release, and the manifest names the libraries they link', async (t) => {
  const x = path.join(dir, 'x-natives');
  fs.mkdirSync(x);
  execFileSync('tar', ['-xzf', r.artifactFile, '-C', x]);
  const worker = path.join(x, 'node_modules', 'mediasoup', 'worker', 'out', 'Release', 'mediasoup-worker');
  t.ok(fs.statSync(worker).mode & 0o111, 'the mediasoup worker, executable, inside the release');
  t.same(fs.readdirSync(path.join(x, 'node_modules', 'mediasoup', 'worker')), ['out'], "none of the worker's sources");
  for (const n of r.manifest.native)
    t.ok(
      fs.existsSync(path.join(x, 'node_modules', n.name, 'package.json')),
      `${n.name} ${n.version} inside the release`,
    );
  t.ok(fs.existsSync(path.join(x, 'node_modules', 'epoll', 'build', 'Release', 'epoll.node')), "onoff's epoll addon");
  // Node resolves the agent's imports inside its own version folder first.
  const req = createRequire(path.join(x, 'agent.mjs'));
  t.ok(req.resolve('mediasoup').startsWith(`${x}${path.sep}`), 'mediasoup resolves inside the version folder');
  const probe = execFileSync(
    process.execPath,
    ['-e', "console.log(typeof require('epoll').Epoll, require.resolve('epoll'))"],
    { cwd: x, encoding: 'utf8' },
  );
  t.match(probe.trim(), new RegExp(`^function ${x}/`), 'the copied epoll addon loads from the release');

  const m = r.manifest;
  t.same(m.requires?.arch, process.arch);
  t.same(m.requires?.nodeAbi, process.versions.modules);
  const named = new Set(m.requires?.debian.map((d) => d.package));
  for (const p of ['libssl3', 'libuv1', 'libsrtp2-1', 'libusrsctp2', 'libabsl20220623'])
    t.ok(named.has(p), `the manifest names ${p}`);
  t.match(
    JSON.parse(fs.readFileSync(path.join(x, 'manifest.json'), 'utf8')),
    { requires: m.requires },
    'and the copy inside the tarball',
  );
  t.ok(m.unpackedSize > fs.statSync(worker).size, 'unpacked size counts the natives');
  t.same(
    m.mediaLink,
    { srtpSuites: ['AEAD_AES_256_GCM'] },
    'mediasoup 3.19 pipes speak AES-256-GCM only: the manifest says so',
  );

  // Every library the worker links comes from a package the manifest names,
  // or from the base system (libc, libstdc++, libgcc) or as a dependency of a
  // named one (libsrtp2-1 brings NSS).
  let ldd: string;
  try {
    ldd = execFileSync('ldd', [worker], { encoding: 'utf8' });
    execFileSync('dpkg-query', ['--version'], { stdio: 'ignore' });
  } catch {
    t.comment('no ldd or dpkg here: the linked libraries are not checked');
    return;
  }
  const base = new Set(['libc6', 'libstdc++6', 'libgcc-s1', 'libnss3', 'libnspr4']);
  const libs = [...ldd.matchAll(/=> (\/\S+)/g)].map((mm) => mm[1]!);
  t.ok(
    libs.some((l) => /libssl\.so\.3$/.test(l)),
    'the worker links OpenSSL 3',
  );
  for (const lib of libs) {
    // dpkg records one spelling of a path (merged /usr: /lib or /usr/lib): try both.
    const spellings = [lib, fs.realpathSync(lib), lib.replace(/^\/usr\//, '/'), `/usr${lib}`];
    let owner = '';
    for (const p of spellings) {
      try {
        owner = execFileSync('dpkg', ['-S', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(
          ':',
        )[0]!;
        break;
      } catch {
        // the next spelling
      }
    }
    t.ok(named.has(owner) || base.has(owner), `${path.basename(lib)} comes from ${owner}, named or base`);
  }
});
