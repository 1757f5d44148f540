#!/usr/bin/env node
// npm run build: the programs the province's server runs, as compiled
// JavaScript that needs only production dependencies (no tsx, no TypeScript):
//   fleet/dist/main.mjs        the fleet server (fleet/src/main.ts)
//   appliance/dist/edge.mjs    the media edge, run on the server as the core edge
//   appliance/dist/join.bundle.js  the edge's join page script (so no esbuild at run time)
// The dashboard's bundle (fleet/public/build) is made by scripts/setup.mjs.
//
// Why esbuild bundles and not `tsc` per workspace: our workspaces export their
// TypeScript sources (`"exports": "./src/index.ts"`), which tsx and the tests
// rely on; compiled workspaces would need a second set of exports and a build
// order. A bundle holds our own code (shared, fleet, the edge) in one file per
// program and leaves every npm package outside it, resolved from the
// production node_modules at run time: natives (better-sqlite3, mediasoup)
// must be, and pino's worker-thread transports, swagger-ui's static files and
// the like keep working as npm installed them. It is the tool that already
// makes the box's release (provisioning/src/release/bundle.ts) and the
// dashboard, and it takes about a second. Types are checked by `npm run
// typecheck`, not here.
//
// The build fails when the code imports a package that is a dev dependency
// (package-lock.json's "dev": true), since the image prunes those away.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`[build] ${msg}\n`);

/** The programs: entry, output, and the dev packages each may import only on a path the build makes dead. */
const PROGRAMS = [
  { name: 'fleet', entry: 'fleet/src/main.ts', out: 'fleet/dist/main.mjs', devAllowed: {} },
  { name: 'backup', entry: 'fleet/src/backup/main.ts', out: 'fleet/dist/backup.mjs', devAllowed: {} },
  {
    name: 'edge',
    entry: 'appliance/src/media/main.ts',
    out: 'appliance/dist/edge.mjs',
    // page.ts imports esbuild only when join.bundle.js is not beside it; this build puts it there.
    devAllowed: { esbuild: 'only when join.bundle.js is missing' },
  },
];

/** The npm package a bare specifier names ('@scope/name/sub' → '@scope/name'). */
const packageOf = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

/** Leaves every npm package outside the bundle (ours, @diemcau/*, are bundled) and records which were imported. */
function externals(seen) {
  return {
    name: 'externals',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:') || args.path.startsWith('@diemcau/')) return undefined;
        seen.add(packageOf(args.path));
        return { path: args.path, external: true };
      });
    },
  };
}

/** Packages the lockfile marks as dev-only, by name (hoisted or nested). */
function devOnlyPackages() {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const dev = new Map();
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    const i = key.lastIndexOf('node_modules/');
    if (i < 0) continue;
    const name = key.slice(i + 'node_modules/'.length);
    // A name that is a production dependency anywhere in the tree wins.
    dev.set(name, (dev.get(name) ?? true) && entry.dev === true);
  }
  return new Set([...dev].filter(([, isDev]) => isDev).map(([name]) => name));
}

const started = Date.now();
const devOnly = devOnlyPackages();
const problems = [];
for (const dir of new Set(PROGRAMS.map((p) => path.dirname(p.out))))
  fs.rmSync(path.join(root, dir), { recursive: true, force: true });
for (const p of PROGRAMS) {
  const seen = new Set();
  await esbuild.build({
    entryPoints: [path.join(root, p.entry)],
    outfile: path.join(root, p.out),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    // The source map points at the TypeScript sources, which the image does not carry; keep the
    // sources' text inside the map so stack traces (node --enable-source-maps) still show lines.
    sourcesContent: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [externals(seen)],
  });
  for (const name of [...seen].sort()) {
    if (devOnly.has(name) && !(name in p.devAllowed))
      problems.push(`${p.name} (${p.entry}) imports ${name}, a dev dependency: make it a dependency of its workspace`);
  }
  log(
    `${p.out}: ${(fs.statSync(path.join(root, p.out)).size / 1024).toFixed(0)} KiB, ${seen.size} npm packages left to node_modules`,
  );
}

// The join page's script for browsers, bundled with mediasoup-client (page.ts reads it beside edge.mjs).
await esbuild.build({
  entryPoints: [path.join(root, 'appliance/src/media/web/join.js')],
  outfile: path.join(root, 'appliance/dist/join.bundle.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  logLevel: 'warning',
});

if (problems.length > 0) {
  log(`failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
log(`done in ${Date.now() - started} ms`);
