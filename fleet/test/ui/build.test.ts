// The dashboard's source typechecks (browser types, preact JSX: its own
// tsconfig, which the root typecheck does not cover) and bundles into a
// self-contained directory.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

t.test('fleet/ui typechecks', async (t) => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  let out = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(root, 'fleet', 'ui', 'tsconfig.json')], { encoding: 'utf8' });
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? err);
  }
  t.equal(out, '', 'no type errors');
});

t.test('the bundle is built into the given directory with everything it needs', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-ui-build-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], {
    env: { ...process.env, DIEMCAU_UI_OUT_DIR: dir },
    stdio: 'ignore',
  });
  for (const f of ['index.html', 'boot.js', 'app.js', 'app.css']) t.ok(fs.existsSync(path.join(dir, f)), f);
  const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  t.match(html, /src="\/ui\/app\.js"/);
  const css = fs.readFileSync(path.join(dir, 'app.css'), 'utf8');
  t.match(css, /\.uplot/, 'uPlot styles are bundled');
  t.notMatch(css, /@import|url\(["']?https?:/, 'no stylesheet or font from outside');
});
