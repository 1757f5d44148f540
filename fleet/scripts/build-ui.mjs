#!/usr/bin/env node
// Bundles the operators' dashboard (fleet/ui) into fleet/public/build with
// esbuild: one JS file, one CSS file and index.html. Everything the page needs
// is in the bundle, because the province's server and the boxes have no
// internet (no CDN). Run by scripts/setup.mjs, so demo, start and test rebuild it.
//   node fleet/scripts/build-ui.mjs            build once (minified)
//   node fleet/scripts/build-ui.mjs --watch    rebuild on change (not minified)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const fleetDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const uiDir = path.join(fleetDir, 'ui');
const outDir = process.env.DIEMCAU_UI_OUT_DIR ?? path.join(fleetDir, 'public', 'build');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const options = {
  entryPoints: { app: path.join(uiDir, 'main.tsx') },
  outdir: outDir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Chromium of Debian 12 and the tablets' browsers of the last few years.
  target: ['chrome100', 'safari15', 'firefox100'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: !watch,
  sourcemap: watch ? 'inline' : 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  loader: { '.svg': 'text' },
};

fs.mkdirSync(outDir, { recursive: true });
// The page and its blocking boot script (the language before the first paint) go as they are.
for (const f of ['index.html', 'boot.js']) fs.copyFileSync(path.join(uiDir, f), path.join(outDir, f));

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  process.stderr.write(`[build-ui] watching ${uiDir}\n`);
} else {
  const started = Date.now();
  await esbuild.build(options);
  process.stderr.write(
    `[build-ui] dashboard bundled into ${path.relative(process.cwd(), outDir) || '.'} in ${Date.now() - started} ms\n`,
  );
}
