// The join page served by the edge: a small HTML shell and its script, bundled
// with mediasoup-client by esbuild on first request and kept in memory.
// A release ships the script pre-bundled as join.bundle.js next to edge.mjs
// (provisioning/src/release/bundle.ts), so a box needs no esbuild at runtime.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// The TV (view=kiosk) has a fixed frame that never runs off screen: a bar with
// the meeting's title and the chair's notices, one to four large pictures in a
// grid, and at most six thumbnails in a row below; every picture is captioned
// with its site's name. join.js fills it from the edge's layout. A guest by
// join link (a laptop, phone or tablet) gets the same frame with its own
// picture, a bar with "sound" and "ask to speak", and stacked pictures when
// the screen stands upright; a refused link is explained in words. Opened
// with a monitor link (the chair's console frames it during a roll call), it
// shows the called room's picture alone, filling the frame (watch.js). A
// browser whose microphone the chair has closed (mute all, the floor given
// elsewhere) is told so, in Vietnamese and English, until the chair opens it.
export const JOIN_HTML = `<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Diemcau</title>
<style>body{margin:0;background:#111;color:#eee;font:14px sans-serif}#grid{display:flex;flex-wrap:wrap;gap:4px}
video{width:320px;height:240px;background:#000}video[hidden]{display:none}#self{position:fixed;right:8px;bottom:8px;width:160px;height:120px}
#kiosk,#blocked{display:none}
body.kiosk{background:#000;height:100vh;overflow:hidden;font-family:"Noto Sans",sans-serif}
body.kiosk #grid,body.kiosk #self{display:none}
body.kiosk #kiosk{position:fixed;inset:0;display:grid;grid-template-rows:7vh minmax(0,1fr) auto}
#bar{display:flex;align-items:center;gap:2vw;padding:0 2vw;background:#0b2545;color:#fff;font-size:3.4vh;white-space:nowrap;overflow:hidden;min-width:0}
#title{font-weight:700;overflow:hidden;text-overflow:ellipsis;flex:1 1 auto;min-width:0}
#notice{flex:0 1 auto;overflow:hidden;text-overflow:ellipsis;background:#b03a2e;border-radius:1vh;padding:.3vh 1.2vw;font-size:2.8vh}
#notice:empty{display:none}
#stage{display:grid;gap:.6vh;padding:.6vh;min-height:0;min-width:0;grid-template-columns:minmax(0,1fr);grid-template-rows:minmax(0,1fr)}
#stage[data-n="2"]{grid-template-columns:repeat(2,minmax(0,1fr))}
#stage[data-n="3"],#stage[data-n="4"]{grid-template-columns:repeat(2,minmax(0,1fr));grid-template-rows:repeat(2,minmax(0,1fr))}
#stage[data-n="3"] .tile:first-child{grid-row:span 2}
#wait{margin:auto;color:#fff;font-size:4vh;text-align:center}
#strip{height:19vh;display:flex;gap:.6vh;padding:0 .6vh .6vh;overflow:hidden}
#strip:empty{display:none}
#strip>*{flex:0 0 calc((100% - 5 * .6vh) / 6);min-width:0}
.tile{position:relative;margin:0;min-width:0;min-height:0;background:#1b1b1b;overflow:hidden;border:.5vh solid transparent;border-radius:.8vh;box-sizing:border-box}
.tile video{position:absolute;inset:0;width:100%;height:100%;object-fit:contain;background:#000}
.tile figcaption{position:absolute;left:0;right:0;bottom:0;display:flex;gap:1vw;align-items:center;padding:.8vh 1vw;background:linear-gradient(transparent,rgba(0,0,0,.8));color:#fff;font-size:3.2vh;white-space:nowrap;min-width:0}
#strip .tile figcaption{font-size:2.1vh;padding:.4vh .6vw}
.tile .name{overflow:hidden;text-overflow:ellipsis;min-width:0;font-weight:600}
.tile .tag{flex:0 0 auto;font-size:.8em;background:#f4d35e;color:#0b2545;border-radius:.6vh;padding:0 .6vw;font-weight:700}
.tile .tag:empty{display:none}
.tile.speaking{border-color:#f4d35e}
.more{display:flex;align-items:center;justify-content:center;background:#1b2a3f;color:#fff;font-size:3vh;border-radius:.8vh}
#hold{display:none}
body.kiosk #blocked:not([hidden]){position:fixed;inset:0;z-index:5;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:2vh;text-align:center;background:rgba(11,37,69,.94);color:#fff;cursor:pointer;padding:0 8vw}
#blocked .vi{font-size:4.6vh;font-weight:700}#blocked .en{font-size:3vh;opacity:.8}
body.guest #kiosk{bottom:64px}
body.guest #self{display:block;position:fixed;right:8px;bottom:72px;width:112px;height:84px;z-index:3;border:2px solid #fff;border-radius:8px;object-fit:cover}
#controls{position:fixed;left:0;right:0;bottom:0;height:64px;display:flex;gap:8px;align-items:center;padding:0 8px;background:#0b2545;color:#fff;box-sizing:border-box}
#controls[hidden]{display:none}
#controls button{font:600 16px "Noto Sans",sans-serif;min-height:48px;padding:0 14px;border:0;border-radius:8px;background:#f4d35e;color:#0b2545}
#controls button:disabled{opacity:.6}
#speak{flex:1 1 auto;min-width:0;font-size:15px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
body.floor #controls{background:#1e6b34}
#refused{position:fixed;inset:0;z-index:6;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:12px;padding:0 8vw;text-align:center;background:#0b2545;color:#fff}
#refused[hidden]{display:none}
#mic{position:fixed;left:8px;right:8px;top:8px;z-index:4;display:flex;flex-wrap:wrap;gap:4px 12px;padding:8px 12px;background:#b03a2e;color:#fff;border-radius:8px;font:600 15px "Noto Sans",sans-serif}
#mic[hidden]{display:none}#mic .en{font-weight:400;opacity:.9}body.guest #mic{top:auto;bottom:72px;right:128px}#refused-vi{font-size:22px;font-weight:700}#refused-en{font-size:16px;opacity:.85}
@media (orientation:portrait){#stage[data-n="2"]{grid-template-columns:minmax(0,1fr);grid-template-rows:repeat(2,minmax(0,1fr))}
#stage[data-n="3"],#stage[data-n="4"]{grid-template-columns:minmax(0,1fr);grid-template-rows:repeat(4,minmax(0,1fr))}
#stage[data-n="3"] .tile:first-child{grid-row:auto}#strip>*{flex-basis:calc((100% - 2 * .6vh) / 3)}}
#watch{display:none}body.monitor{background:#000;overflow:hidden}body.monitor #grid,body.monitor #self{display:none}
body.monitor #watch:not([hidden]){display:block;position:fixed;inset:0;width:100%;height:100%;object-fit:contain}</style>
</head><body><div id="grid"></div><video id="self" autoplay muted playsinline></video>
<div id="kiosk"><header id="bar"><span id="title"></span><span id="notice"></span></header><main id="stage" data-n="0"></main><div id="strip"></div><div id="hold"></div></div>
<video id="watch" autoplay muted playsinline hidden></video>
<div id="controls" hidden><button id="sound" type="button" aria-pressed="false">Bật âm thanh</button><button id="ask" type="button" hidden>Xin phát biểu</button><span id="speak" role="status"></span></div>
<div id="mic" role="status" hidden><span class="vi">Micrô của bạn đang tắt theo yêu cầu của chủ trì</span><span class="en">The chair has turned off your microphone</span></div>
<div id="refused" role="alert" hidden><div id="refused-vi"></div><div id="refused-en"></div></div>
<div id="blocked" role="alert" hidden><div class="vi">Trình duyệt đang chặn phát âm thanh cuộc họp.<br>Bấm vào màn hình hoặc nhấn một phím bất kỳ để nghe.</div><div class="en">The browser blocked the meeting's sound. Click the screen or press any key to listen.</div></div>
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
  bundle.catch(() => {
    bundle = null;
  });
  return bundle;
}
