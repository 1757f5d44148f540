// The fleet's image, assembled without a Docker engine the way the repository's
// Dockerfile builds it: the build context as .dockerignore leaves it, the build
// stage's COPY lines from that context, its RUN steps in a scratch folder, the
// run stage's COPY lines from the build stage; then the image's entry point is
// started from that tree (the fleet and the core edge, on free ports) and must
// answer, with every module it loaded inside the tree and none a dev dependency.
//
// Two steps stand in for what needs the network or a long build: `npm ci` is
// this checkout's node_modules (installed from the same lockfile, natives built
// by setup.mjs), hard-linked; setup.mjs uses the machine's native cache instead
// of a fresh one. Every other RUN step is run as the Dockerfile writes it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import {
  contextFiles,
  copyInto,
  dockerIgnore,
  linkTree,
  parseCopy,
  parseDockerfile,
  type Stage,
} from './dockerfile.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ignored = dockerIgnore(fs.readFileSync(path.join(root, '.dockerignore'), 'utf8'));
const stages = parseDockerfile(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const build = stages.find((s) => s.name === 'build')!;
const run = stages.at(-1)!;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-image-'));
t.teardown(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Package names the lockfile marks dev-only (nowhere a production dependency). */
function devOnly(): Set<string> {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const dev = new Map<string, boolean>();
  for (const [key, e] of Object.entries(lock.packages)) {
    const i = key.lastIndexOf('node_modules/');
    if (i >= 0) dev.set(key.slice(i + 13), (dev.get(key.slice(i + 13)) ?? true) && e.dev === true);
  }
  return new Set([...dev].filter(([, d]) => d).map(([n]) => n));
}
const DEV_ONLY = devOnly();

/** The packages apt installs for these names: each one and what it depends on, as this machine's dpkg knows them. */
function dependencyClosure(names: string[]): Set<string> {
  const out = new Set<string>();
  const todo = [...names];
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    if (out.has(name)) continue;
    out.add(name);
    const r = spawnSync('dpkg-query', ['-W', '-f=${Depends}', name], { encoding: 'utf8' });
    for (const dep of r.stdout
      .split(/[,|]/)
      .map((d) => d.trim().split(/[\s:]/)[0]!)
      .filter(Boolean))
      todo.push(dep);
  }
  return out;
}

function workdirOf(stage: Stage, upTo: number): string {
  const w = stage.instructions
    .slice(0, upTo)
    .filter((i) => i.op === 'WORKDIR')
    .at(-1);
  return w?.args ?? '/';
}

t.test('the build context carries only what the image needs', async (t) => {
  for (const p of [
    'node_modules/fastify/package.json',
    'fleet/node_modules/x',
    'data/fleet.sqlite',
    'data-yen-bai-two-tier/fleet.sqlite',
    'fleet/data/fleet.sqlite',
    '.git/HEAD',
    '.git',
    '.tap/processinfo/x.json',
    'test-output/a.png',
    'fleet/dist/main.mjs',
    'fleet/public/build/app.js',
    'release-keys/dev.key',
    'x/fleet.log',
  ]) {
    t.ok(ignored(p), `${p} stays out of the context`);
  }
  const files = contextFiles(root, ignored);
  t.same(
    files.filter((f) => /(^|\/)(node_modules|data|\.git|\.tap|test-output|dist)(\/|$)/.test(f)),
    [],
    "nothing forbidden in this checkout's context",
  );
  t.ok(
    files.includes('fleet/src/main.ts') && files.includes('package-lock.json'),
    'the sources and the lockfile are in it',
  );
  t.comment(
    `build context: ${files.length} files, ${(files.reduce((n, f) => n + fs.lstatSync(path.join(root, f)).size, 0) / 1e6).toFixed(1)} MB`,
  );
});

const buildRoot = path.join(scratch, 'build');
const imageRoot = path.join(scratch, 'image');
const appDir = path.join(imageRoot, 'opt/diemcau');

t.test('the build stage, step by step', async (t) => {
  const started = Date.now();
  for (const [i, ins] of build.instructions.entries()) {
    const wd = path.join(buildRoot, workdirOf(build, i + 1));
    if (ins.op === 'WORKDIR') fs.mkdirSync(wd, { recursive: true });
    else if (ins.op === 'COPY')
      copyInto(root, parseCopy(ins.args), buildRoot, workdirOf(build, i), (rel) => !ignored(rel));
    else if (ins.op === 'RUN') {
      for (const step of ins.args.split(/\s+&&\s+/).map((s) => s.trim())) {
        if (/^apt-get |^rm -rf \/var\/lib\/apt/.test(step)) continue; // the system packages: checked below against the worker's links
        if (step.startsWith('rm -rf /tmp/')) continue;
        if (/^npm ci\b/.test(step)) {
          // The same lockfile, installed and set up in this checkout.
          t.equal(
            fs.readFileSync(path.join(wd, 'package-lock.json'), 'utf8'),
            fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'),
            'npm ci: the lockfile this checkout was installed from',
          );
          for (const ws of ['', 'shared', 'appliance', 'fleet', 'provisioning']) {
            if (fs.existsSync(path.join(root, ws, 'node_modules')))
              linkTree(path.join(root, ws, 'node_modules'), path.join(wd, ws, 'node_modules'));
          }
          // npm rewrites its hidden lockfile in place: never through a hard link into this checkout.
          const hidden = path.join(wd, 'node_modules/.package-lock.json');
          fs.rmSync(hidden, { force: true });
          fs.copyFileSync(path.join(root, 'node_modules/.package-lock.json'), hidden);
          continue;
        }
        const cmd = step.replace(/^DIEMCAU_CACHE_DIR=\S+\s+/, '').replace(/^(npm prune\b.*)$/, '$1 --offline');
        const r = spawnSync('sh', ['-c', cmd], {
          cwd: wd,
          encoding: 'utf8',
          env: { PATH: process.env.PATH, HOME: os.homedir() },
          timeout: 120_000,
        });
        t.equal(r.status, 0, `RUN ${cmd}`, { stderr: r.stderr?.slice(-2000) });
      }
    } else if (!['ENV', 'ARG', 'LABEL'].includes(ins.op)) throw new Error(`build stage: ${ins.op} is not modelled`);
  }
  t.comment(`build stage steps: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

t.test('the run stage holds compiled code and production dependencies only', async (t) => {
  for (const [i, ins] of run.instructions.entries()) {
    if (ins.op === 'WORKDIR') fs.mkdirSync(path.join(imageRoot, ins.args), { recursive: true });
    else if (ins.op === 'COPY') {
      const c = parseCopy(ins.args);
      if (c.from) copyInto(buildRoot, c, imageRoot, workdirOf(run, i));
      else copyInto(root, c, imageRoot, workdirOf(run, i), (rel) => !ignored(rel));
    }
  }
  const files = execFileSync('find', [appDir, '-type', 'f'], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .trim()
    .split('\n')
    .map((f) => path.relative(appDir, f));
  const top = (f: string) =>
    f
      .split('/')
      .slice(0, f.startsWith('node_modules/@') ? 3 : 2)
      .join('/');
  const nm = new Set(
    files.filter((f) => f.startsWith('node_modules/')).map((f) => top(f).slice('node_modules/'.length)),
  );
  t.same(
    [...nm].filter((n) => DEV_ONLY.has(n)),
    [],
    'no dev dependency in node_modules',
  );
  for (const n of ['tsx', 'typescript', 'esbuild', 'tap']) t.notOk(nm.has(n), `${n} is not in the image`);
  t.same(
    files.filter((f) => !f.includes('node_modules/') && /\.(ts|tsx)$/.test(f)),
    [],
    'no TypeScript sources',
  );
  t.same(
    files.filter((f) => /(^|\/)(data|\.git|test|\.tap)\//.test(f) && !f.includes('node_modules/')),
    [],
    'no data, tests or git',
  );
  for (const f of [
    'fleet/dist/main.mjs',
    'appliance/dist/edge.mjs',
    'appliance/dist/join.bundle.js',
    'fleet/public/build/index.html',
    'fleet/datasets/yen-bai-2022.json',
    'node_modules/mediasoup/worker/out/Release/mediasoup-worker',
    'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
  ]) {
    t.ok(files.includes(f), `${f} is in the image`);
  }
  t.ok(fs.existsSync(path.join(imageRoot, 'usr/local/bin/diemcau-server')), 'the entry point is in the image');
  const bytes = Number(execFileSync('du', ['-sb', appDir], { encoding: 'utf8' }).split('\t')[0]);
  t.comment(`image tree /opt/diemcau: ${files.length} files, ${(bytes / 1e6).toFixed(0)} MB`);

  // Every Debian library the worker links must be installed by the run stage (or be in its base image).
  const apt = run.instructions
    .filter((i) => i.op === 'RUN' && i.args.includes('apt-get install'))
    .map((i) => i.args)
    .join(' ');
  const worker = path.join(appDir, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker');
  const libs = [...execFileSync('ldd', [worker], { encoding: 'utf8' }).matchAll(/=>\s+(\S+)/g)].map((m) => m[1]!);
  const pkgs = new Set(
    libs
      .map((l) => spawnSync('dpkg', ['-S', fs.realpathSync(l)], { encoding: 'utf8' }).stdout.split(':')[0]!)
      .filter(Boolean),
  );
  const inBase = new Set(['libc6', 'libstdc++6', 'libgcc-s1']);
  const installed = dependencyClosure(apt.split(/\s+/).filter((w) => /^lib[a-z0-9.+-]+$/.test(w)));
  const missing = [...pkgs].filter((p) => !inBase.has(p) && !installed.has(p));
  t.same(missing, [], `the run stage installs what the worker links (${[...pkgs].sort().join(', ')})`);
});

t.test('the image entry point starts the fleet and the core edge from that tree', async (t) => {
  const dataDir = path.join(scratch, 'var-lib-diemcau');
  const probeOut = path.join(scratch, 'loaded.txt');
  const probe = path.join(scratch, 'probe.mjs');
  // Records every module the programs load: ESM through a resolve hook, CommonJS from require.cache at exit.
  const hook = `import fs from 'node:fs'; export async function resolve(s, c, next) { const r = await next(s, c); fs.appendFileSync(${JSON.stringify(probeOut)}, r.url + '\\n'); return r; }`;
  fs.writeFileSync(
    probe,
    `import { register, createRequire } from 'node:module'; import fs from 'node:fs';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
const require = createRequire(import.meta.url);
process.on('exit', () => fs.appendFileSync(${JSON.stringify(probeOut)}, Object.keys(require.cache).map((f) => 'file://' + f + '\\n').join('')));
`,
  );
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NODE_ENV: 'production',
    NODE_OPTIONS: `--import=${pathToFileURL(probe).href}`,
    DIEMCAU_APP_DIR: appDir,
    DIEMCAU_DATA_DIR: dataDir,
    DIEMCAU_HOST: '127.0.0.1',
    DIEMCAU_HTTP_PORT: '0',
    DIEMCAU_MQTT_PORT: '0',
    DIEMCAU_EDGE_PORT: '0',
    DIEMCAU_EDGE_HOST: '127.0.0.1',
    DIEMCAU_EDGE_WORKERS: '1',
    DIEMCAU_ADMIN_TOKEN: 'image-test-admin-token-0123456789',
  };
  // Through `env -i`: the test runner adds its own loader to every child's NODE_OPTIONS, which the image has not.
  const child = spawn(
    'env',
    [
      '-i',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      path.join(imageRoot, 'usr/local/bin/diemcau-server'),
      'all',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null)
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
  });
  let out = '';
  const seen: { fleet?: number; edge?: string } = {};
  let wake = (): void => {};
  const onLine = (chunk: string): void => {
    out += chunk;
    for (const line of chunk.split('\n')) {
      if (line.includes('"fleet listening"')) seen.fleet = (JSON.parse(line) as { httpPort: number }).httpPort;
      if (line.includes('"edge listening"')) seen.edge = (JSON.parse(line) as { url: string }).url;
    }
    wake();
  };
  child.stdout.setEncoding('utf8').on('data', onLine);
  child.stderr.setEncoding('utf8').on('data', onLine);
  await Promise.race([
    new Promise<void>((resolve) => {
      wake = () => {
        if (seen.fleet && seen.edge) resolve();
      };
    }),
    exited.then((code) => {
      throw new Error(`the entry point exited (${code}) before both listened:\n${out.slice(-3000)}`);
    }),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`not listening after 45 s:\n${out.slice(-3000)}`)), 45_000).unref(),
    ),
  ]);
  const health = await fetch(`http://127.0.0.1:${seen.fleet}/healthz`);
  t.equal(health.status, 200, 'the fleet answers /healthz');
  const edgeHealth = await fetch(`${seen.edge}/media/v1/health`);
  t.equal(edgeHealth.status, 200, 'the core edge answers its health route');
  t.ok(
    fs.existsSync(path.join(dataDir, 'core-edge-admin-token')),
    "the core edge's admin token was made in the data volume",
  );
  // The compiled backup program, run the way `docker exec <container> diemcau-server backup` runs it.
  const archive = path.join(scratch, 'backup.tar.gz');
  const backup = spawnSync(
    'env',
    [
      '-i',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      path.join(imageRoot, 'usr/local/bin/diemcau-server'),
      'backup',
      '--out',
      archive,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  t.equal(backup.status, 0, 'diemcau-server backup works from the image', { output: backup.stderr.slice(-2000) });
  t.ok(fs.existsSync(archive), 'and writes its archive');

  child.kill('SIGTERM');
  t.equal(await exited, 0, "SIGTERM stops both, and the entry point exits with the fleet's clean status");
  const loaded = [
    ...new Set(
      fs
        .readFileSync(probeOut, 'utf8')
        .split('\n')
        .filter((u) => u.startsWith('file://')),
    ),
  ].map((u) => fileURLToPath(u));
  t.ok(
    loaded.some((f) => f.endsWith('fleet/dist/main.mjs')) && loaded.some((f) => f.endsWith('appliance/dist/edge.mjs')),
    'both compiled entries ran',
  );
  t.ok(
    loaded.some((f) => f.includes('/node_modules/fastify/')),
    'the probe saw the packages loaded',
  );
  const outside = loaded.filter((f) => !f.startsWith(appDir + path.sep) && f !== probe);
  t.same(outside, [], 'nothing was loaded from outside the image tree');
  const dev = loaded.filter(
    (f) => /\.tsx?$/.test(f) || [...f.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].some((m) => DEV_ONLY.has(m[1]!)),
  );
  t.same(dev, [], 'no TypeScript and no dev dependency was loaded');
  t.comment(`${loaded.length} modules loaded by the fleet and the edge`);
});
