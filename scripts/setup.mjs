#!/usr/bin/env node
// Builds the native parts that `npm ci` leaves alone (.npmrc has ignore-scripts=true):
//   - the better-sqlite3 and epoll (onoff's GPIO) addons, from their sources with node-gyp;
//   - mediasoup 3.8.4's worker, from the sources inside its npm package.
// Both are cached outside the repo, keyed by version, Node ABI and our patch,
// so a second run takes a second; a fresh machine builds them (about 5-8 min
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
  process.env.DIEMCAU_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'diemcau'),
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

// Runs a long build, sending its output to a log file and printing a progress
// line every 30 s (how many objects are compiled so far).
function runWithProgress(label, cmd, args, opts, logFile, countObjects) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', out, out] });
    const started = Date.now();
    const timer = setInterval(() => {
      const secs = Math.round((Date.now() - started) / 1000);
      log(`${label}: ${secs}s, ${countObjects()} objects compiled (log: ${logFile})`);
    }, 30_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      fs.closeSync(out);
      if (code === 0) resolve();
      else reject(new Error(`${label} failed (${code ?? signal}); see ${logFile}`));
    });
  });
}

function countFiles(dir, suffix) {
  let n = 0;
  const walk = (d) => {
    let entries;
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith(suffix)) n++;
    }
  };
  walk(dir);
  return n;
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
    run(process.execPath, [nodeGyp, 'rebuild', '--release', '--loglevel=warn', `--jobs=${os.cpus().length}`, ...nodedirArgs()], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.copyFileSync(target, cached);
    return;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(cached, target);
}

// The one-line glibc fix: SIGSTKSZ is no longer a constant in glibc >= 2.34.
const ABSEIL_FILE = 'deps/libwebrtc/deps/abseil-cpp/abseil-cpp/absl/debugging/failure_signal_handler.cc';
const ABSEIL_FROM = 'std::max(SIGSTKSZ, 65536)';
const ABSEIL_TO = 'std::max<long>(SIGSTKSZ, 65536)';

async function setupMediasoupWorker() {
  const dir = pkgDir('mediasoup');
  const version = pkgVersion(dir);
  const patchId = createHash('sha256').update(`${ABSEIL_FROM}>${ABSEIL_TO};gyp-next`).digest('hex').slice(0, 8);
  const cacheDir = path.join(cacheRoot, `mediasoup-worker-${version}-${patchId}-${process.arch}`);
  const cachedBin = path.join(cacheDir, 'mediasoup-worker');
  // mediasoup looks for its worker here unless MEDIASOUP_WORKER_BIN says otherwise.
  const target = path.join(dir, 'worker', 'out', 'Release', 'mediasoup-worker');
  if (!fs.existsSync(cachedBin)) {
    const buildDir = path.join(cacheDir, 'build');
    fs.rmSync(buildDir, { recursive: true, force: true });
    fs.mkdirSync(cacheDir, { recursive: true });
    log(`building the mediasoup ${version} worker from its package sources (about 5-8 min on two cores)`);
    fs.cpSync(path.join(dir, 'worker'), buildDir, { recursive: true, filter: (src) => !src.includes(`${path.sep}out${path.sep}`) });
    const abseil = path.join(buildDir, ABSEIL_FILE);
    const src = fs.readFileSync(abseil, 'utf8');
    if (!src.includes(ABSEIL_FROM) && !src.includes(ABSEIL_TO)) throw new Error(`abseil fix does not apply to ${ABSEIL_FILE}`);
    fs.writeFileSync(abseil, src.replace(ABSEIL_FROM, ABSEIL_TO));
    // The bundled gyp fails under Python 3.11; node-gyp ships gyp-next, which works.
    fs.rmSync(path.join(buildDir, 'deps', 'gyp'), { recursive: true, force: true });
    fs.cpSync(path.join(pkgDir('node-gyp'), 'gyp'), path.join(buildDir, 'deps', 'gyp'), { recursive: true });
    const logFile = path.join(cacheDir, 'build.log');
    run('python3', ['scripts/configure.py', '-R', 'mediasoup-worker'], { cwd: buildDir, stdio: ['ignore', 'ignore', 'inherit'] });
    const jobs = String(Math.max(1, os.cpus().length));
    await runWithProgress('mediasoup worker', 'make', ['-j', jobs, 'BUILDTYPE=Release', '-C', 'out'], { cwd: buildDir }, logFile,
      () => countFiles(path.join(buildDir, 'out'), '.o'));
    fs.copyFileSync(path.join(buildDir, 'out', 'Release', 'mediasoup-worker'), cachedBin + '.tmp');
    fs.renameSync(cachedBin + '.tmp', cachedBin);
    fs.rmSync(buildDir, { recursive: true, force: true });
    log(`mediasoup worker cached at ${cachedBin}`);
  }
  if (!fs.existsSync(target) || fs.statSync(target).size !== fs.statSync(cachedBin).size) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(cachedBin, target);
    fs.chmodSync(target, 0o755);
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
