#!/usr/bin/env node
// Builds the native parts that `npm ci` leaves alone (.npmrc has ignore-scripts=true):
//   - the better-sqlite3 and epoll (onoff's GPIO) addons, from their sources with node-gyp;
//   - mediasoup's worker, from the sources inside its npm package, against
//     Debian's system libraries, with the patches in scripts/mediasoup-patches/.
// Both are cached outside the repo, keyed by version, Node ABI and our patches,
// so a second run takes a second; a fresh machine builds them (about 5 min
// for the worker on two cores). Every entry script (demo, start, test, bench)
// runs this first, so nobody has to remember it or set an environment variable.
import { spawnSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheRoot = path.join(
  process.env.DIEMCAU_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'diemcau'),
);
const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function pkgDir(name) {
  const dir = path.join(root, 'node_modules', name);
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    throw new Error(`${name} is not installed; run "npm ci" first`);
  }
  return dir;
}
const pkgVersion = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with ${r.status ?? r.signal}`);
}

// Build against the headers of the Node that runs us: downloading them is not
// possible on an isolated network, and Debian's and nodesource's Node ship them.
function nodedirArgs() {
  const candidates = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')];
  const found = candidates.find((d) => d && fs.existsSync(path.join(d, 'include', 'node', 'node.h')));
  return found ? [`--nodedir=${found}`] : [];
}

// A node-gyp addon built from its package's sources, cached by version and Node ABI.
async function setupAddon(name, binary, minutes) {
  const dir = pkgDir(name);
  const target = path.join(dir, 'build', 'Release', binary);
  const key = `${name}-${pkgVersion(dir)}-abi${process.versions.modules}-${process.arch}`;
  const cached = path.join(cacheRoot, key, binary);
  if (fs.existsSync(target)) return;
  if (!fs.existsSync(cached)) {
    log(`building ${name} ${pkgVersion(dir)} from source (${minutes})`);
    const nodeGyp = path.join(pkgDir('node-gyp'), 'bin', 'node-gyp.js');
    run(
      process.execPath,
      [nodeGyp, 'rebuild', '--release', '--loglevel=warn', `--jobs=${os.cpus().length}`, ...nodedirArgs()],
      { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.copyFileSync(target, cached);
    return;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(cached, target);
}

// mediasoup's worker, built from its npm package's own sources against Debian's
// libraries (OpenSSL 3, libuv, libsrtp2, usrsctp, abseil, flatbuffers) with the
// small patches in scripts/mediasoup-patches/ (each says why it exists).
const MS_PATCH_DIR = path.join(root, 'scripts', 'mediasoup-patches');
// liburing is switched on for kernels >= 6, and Debian's liburing 2.3 lacks
// functions the worker uses; the build must not depend on the build host's kernel.
const MESON_OPTIONS = ['--buildtype=release', '-Dms_disable_liburing=true', '--wrap-mode=nodownload'];
const MS_APT =
  'libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev libabsl-dev flatbuffers-compiler libflatbuffers-dev meson ninja-build pkg-config patch';
const MS_PKGCONFIG = [
  'openssl',
  'libuv',
  'libsrtp2',
  'usrsctp',
  'flatbuffers',
  'absl_flat_hash_map',
  'absl_btree',
  'absl_strings',
  'absl_optional',
];

const hasCommand = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

// Every tool and library the worker build needs, checked before a long build starts.
function missingBuildDeps() {
  const missing = ['meson', 'ninja', 'pkg-config', 'flatc', 'patch', 'c++'].filter((c) => !hasCommand(c));
  if (hasCommand('pkg-config')) {
    missing.push(
      ...MS_PKGCONFIG.filter((m) => spawnSync('pkg-config', ['--exists', m]).status !== 0).map((m) => `${m}.pc`),
    );
  }
  return missing;
}

function mediasoupPatches() {
  return fs
    .readdirSync(MS_PATCH_DIR)
    .filter((f) => f.endsWith('.patch'))
    .sort();
}

function mediasoupPatchId() {
  const h = createHash('sha256').update(MESON_OPTIONS.join(' '));
  for (const f of [...mediasoupPatches(), 'srtp.h']) h.update(f).update(fs.readFileSync(path.join(MS_PATCH_DIR, f)));
  return h.digest('hex').slice(0, 8);
}

// Runs one step of the build with its output (compiler warnings included) in
// the log file, and a progress line on the terminal every 30 s from ninja's
// "[done/total]" counter.
function runLogged(label, cmd, args, opts, logFile) {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(logFile, { flags: 'a' });
    out.write(`\n$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    const started = Date.now();
    let step = '';
    const onData = (chunk) => {
      out.write(chunk);
      const m = /\[(\d+)\/(\d+)\][^\n]*\n?$/.exec(chunk.toString());
      if (m) step = `${m[1]}/${m[2]} steps`;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setInterval(() => {
      log(`${label}: ${Math.round((Date.now() - started) / 1000)}s${step ? `, ${step}` : ''} (warnings in ${logFile})`);
    }, 30_000);
    child.on('error', (err) => {
      clearInterval(timer);
      out.end();
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      out.end(() => {
        if (code === 0) resolve();
        else reject(new Error(`${label} failed (${code ?? signal}); see ${logFile}`));
      });
    });
  });
}

function sameFile(a, b) {
  if (!fs.existsSync(a) || !fs.existsSync(b)) return false;
  if (fs.statSync(a).size !== fs.statSync(b).size) return false;
  return fs.readFileSync(a).equals(fs.readFileSync(b));
}

async function setupMediasoupWorker() {
  const dir = pkgDir('mediasoup');
  const version = pkgVersion(dir);
  const cacheDir = path.join(cacheRoot, `mediasoup-worker-${version}-${mediasoupPatchId()}-${process.arch}`);
  const cachedBin = path.join(cacheDir, 'mediasoup-worker');
  // mediasoup reads its worker's path when it is imported: MEDIASOUP_WORKER_BIN
  // if set, else this place inside its package. Putting the binary here means
  // every program and test finds it without an environment variable.
  const target = path.join(dir, 'worker', 'out', 'Release', 'mediasoup-worker');
  if (!fs.existsSync(cachedBin)) {
    const missing = missingBuildDeps();
    if (missing.length > 0) {
      throw new Error(`the mediasoup worker needs ${missing.join(', ')}; on Debian 12: apt-get install ${MS_APT}`);
    }
    const buildDir = path.join(cacheDir, 'build');
    const srcDir = path.join(buildDir, 'worker');
    const outDir = path.join(buildDir, 'out');
    const logFile = path.join(cacheDir, 'build.log');
    fs.rmSync(buildDir, { recursive: true, force: true });
    fs.mkdirSync(buildDir, { recursive: true });
    fs.rmSync(logFile, { force: true });
    const started = Date.now();
    log(
      `building the mediasoup ${version} worker from its package sources against Debian's libraries (about 5 min on two cores)`,
    );
    fs.cpSync(path.join(dir, 'worker'), srcDir, {
      recursive: true,
      filter: (src) => !src.startsWith(path.join(dir, 'worker', 'out')),
    });
    for (const p of mediasoupPatches()) {
      const r = spawnSync('patch', ['-p1', '--forward', '--batch', '--no-backup-if-mismatch', '-s', '-d', srcDir], {
        input: fs.readFileSync(path.join(MS_PATCH_DIR, p)),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      if (r.status !== 0) throw new Error(`${p} does not apply to mediasoup ${version}: ${r.stdout}${r.stderr}`);
    }
    fs.copyFileSync(path.join(MS_PATCH_DIR, 'srtp.h'), path.join(srcDir, 'include', 'srtp.h'));
    await runLogged(
      'mediasoup worker (configure)',
      'meson',
      ['setup', outDir, ...MESON_OPTIONS],
      { cwd: srcDir },
      logFile,
    );
    const jobs = String(Math.max(1, os.cpus().length));
    // The generated flatbuffers headers first: libwebrtc includes them but its
    // target does not depend on them, so a parallel build races otherwise.
    await runLogged(
      'mediasoup worker (flatbuffers headers)',
      'ninja',
      ['-C', outDir, '-j', jobs, 'fbs/FBS'],
      {},
      logFile,
    );
    await runLogged('mediasoup worker', 'ninja', ['-C', outDir, '-j', jobs, 'mediasoup-worker'], {}, logFile);
    const built = path.join(outDir, 'mediasoup-worker');
    if (hasCommand('strip')) run('strip', ['--strip-unneeded', built]);
    fs.copyFileSync(built, cachedBin + '.tmp');
    fs.chmodSync(cachedBin + '.tmp', 0o755);
    fs.renameSync(cachedBin + '.tmp', cachedBin);
    fs.rmSync(buildDir, { recursive: true, force: true });
    log(`mediasoup worker built in ${Math.round((Date.now() - started) / 1000)}s, cached at ${cachedBin}`);
  }
  if (!sameFile(cachedBin, target)) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(cachedBin, target + '.tmp');
    fs.chmodSync(target + '.tmp', 0o755);
    fs.renameSync(target + '.tmp', target);
  }
}

async function buildUi() {
  const script = path.join(root, 'fleet', 'scripts', 'build-ui.mjs');
  if (fs.existsSync(script)) run(process.execPath, [script], { cwd: root });
}

try {
  await setupAddon('better-sqlite3', 'better_sqlite3.node', 'about 1-2 min');
  // onoff's GPIO edge detection; without it the help button cannot work on a real box.
  await setupAddon('epoll', 'epoll.node', 'a few seconds');
  await setupMediasoupWorker();
  await buildUi();
} catch (err) {
  log(`failed: ${err.message}`);
  process.exit(1);
}
