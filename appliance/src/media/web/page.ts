// The join page served by the edge: a small HTML shell and its script, bundled
// with mediasoup-client by esbuild on first request and kept in memory.
// A release ships the script pre-bundled as join.bundle.js next to edge.mjs
// (provisioning/src/release/bundle.ts), so a box needs no esbuild at runtime.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const JOIN_HTML = `<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Diemcau</title>
<style>body{margin:0;background:#111;color:#eee;font:14px sans-serif}#grid{display:flex;flex-wrap:wrap;gap:4px}
video{width:320px;height:240px;background:#000}video.large{width:48vw;height:auto}video.small{width:15vw;height:auto}video.hidden{display:none}#self{position:fixed;right:8px;bottom:8px;width:160px;height:120px}
body.kiosk #grid{height:100vh;align-content:flex-start;justify-content:center}
body.kiosk video.large{flex:1 1 40%;width:auto;height:78vh;object-fit:contain;order:0}
body.kiosk video.small{flex:0 0 auto;width:auto;height:20vh;aspect-ratio:4/3;object-fit:contain;order:1}
body.kiosk #self{display:none}</style>
</head><body><div id="grid"></div><video id="self" autoplay muted playsinline></video>
<script type="module" src="/media/v1/join.js"></script></body></html>`;

/** The pre-bundled script's name, beside the running module (a release's edge.mjs). */
export const JOIN_BUNDLE_FILE = 'join.bundle.js';

let bundle: Promise<string> | null = null;

export function joinScript(): Promise<string> {
  bundle ??= (async () => {
    const prebuilt = await fs.promises.readFile(path.join(here, JOIN_BUNDLE_FILE), 'utf8').catch(() => null);
    if (prebuilt !== null) return prebuilt;
    const esbuild = await import('esbuild');
    const out = await esbuild.build({
      entryPoints: [path.join(here, 'join.js')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    return out.outputFiles[0]!.text;
  })();
  // A failed build is retried on the next request.
  bundle.catch(() => { bundle = null; });
  return bundle;
}
