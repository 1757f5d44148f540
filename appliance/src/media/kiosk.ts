// The TV's own page, served by the edge beside the agent: Chromium in kiosk
// mode (diemcau-kiosk.service) opens http://127.0.0.1:{edge port}/kiosk.
// Before a meeting it shows the site's name and whether the box is enrolled and
// has heard from the fleet, in Vietnamese and English; the identify command's
// card ({kioskDir}/identify.json, written by the agent) full-screen until it
// expires, or in a corner during a meeting so the room still sees the picture;
// during a live meeting the join page's kiosk view for that meeting.
// The state carries the TV's token (browser-peer routes only, never the admin
// token), so it is only answered to this box itself.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { MediaPlan } from '@diemcau/shared';
import { KioskStateSchema, Text, refusals } from './api/schemas.js';
import { STATE_TEXT, boxState, type BoxState, type OtaView } from '../status/box-status.js';

export interface KioskState {
  v: 1;
  enrolled: boolean;
  site: { deviceId: string; siteId: string; siteName: string } | null;
  /** The agent's MQTT link (from {kioskDir}/link.json), or a plan received; null when unknown. */
  connected: boolean | null;
  identify: { siteName: string; code: string; until: string } | null;
  meeting: { meetingId: string; title: string; joinUrl: string } | null;
  /** What the box is doing (status/box-status.ts): the page's sentence, the same word as the LED's. */
  status: BoxState;
  /** The update the sentence names: versions and download progress in percent. */
  update: { current: string; target: string | null; percent: number | null } | null;
}

export interface KioskSource {
  dataDir: string;
  kioskDir: string;
  joinToken: string;
  plan: () => MediaPlan | null;
  now?: () => Date;
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/** Pure over what is on disk and the edge's plan; secrets of the identity file never leave it. */
export function kioskState(s: KioskSource): KioskState {
  const now = (s.now ?? (() => new Date()))();
  const id = readJson(path.join(s.dataDir, 'identity.json'));
  const deviceId = str(id?.deviceId);
  const siteId = str(id?.siteId);
  const siteName = str(id?.siteName);
  const site = deviceId && siteId ? { deviceId, siteId, siteName: siteName ?? siteId } : null;
  const card = readJson(path.join(s.kioskDir, 'identify.json'));
  const until = str(card?.until);
  const identify =
    card && until && Date.parse(until) > now.getTime()
      ? { siteName: str(card.siteName) ?? site?.siteName ?? '', code: str(card.code) ?? '', until }
      : null;
  const plan = s.plan();
  const link = readJson(path.join(s.kioskDir, 'link.json'));
  const connected = typeof link?.connected === 'boolean' ? link.connected : plan !== null ? true : null;
  const network = typeof link?.network === 'boolean' ? link.network : null;
  const ota = otaOf(link?.ota);
  const status = boxState({ enrolled: site !== null, connected, network, ota, now: now.getTime() });
  const p = ota?.progress;
  const update = ota
    ? {
        current: ota.current,
        target: ota.target ?? null,
        percent: ota.state === 'downloading' && p && p.total > 0 ? Math.floor((100 * p.bytes) / p.total) : null,
      }
    : null;
  const live = plan?.meetings.find((m) => m.state === 'live') ?? null;
  const meeting = live
    ? {
        meetingId: live.meetingId,
        title: live.title,
        joinUrl: `/media/v1/join?meeting=${encodeURIComponent(live.meetingId)}&token=${encodeURIComponent(s.joinToken)}&view=kiosk`,
      }
    : null;
  return { v: 1, enrolled: site !== null, site, connected, identify, meeting, status, update };
}

/** The updater's last report from link.json, if it reads as one. */
function otaOf(v: unknown): OtaView | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const state = str(o.state);
  const current = str(o.current);
  const at = str(o.at);
  if (!state || !current || !at) return null;
  const pr = o.progress as { bytes?: unknown; total?: unknown } | undefined;
  return {
    state: state as OtaView['state'],
    current,
    at,
    ...(str(o.target) ? { target: str(o.target)! } : {}),
    ...(pr && typeof pr.bytes === 'number' && typeof pr.total === 'number'
      ? { progress: { bytes: pr.bytes, total: pr.total } }
      : {}),
  };
}

/**
 * The page and its state, for this box only (`local` access: a loopback
 * source, api/access.ts): the state names the TV's token.
 */
export function kioskRoutes(s: KioskSource): FastifyPluginAsyncTypebox {
  return async (app) => {
    const schema = {
      operationId: 'getKioskPage',
      tags: ['kiosk'],
      summary: "The TV's page (this box only)",
      response: { 200: Text(HTML, 'The page'), ...refusals(401) },
    };
    app.get('/kiosk', { config: { access: 'local' }, schema }, async (_req, reply) =>
      reply.type(HTML).header('cache-control', 'no-store').send(KIOSK_HTML),
    );
    // The same page with a trailing slash, as a typed URL may have it; documented once.
    app.get(
      '/kiosk/',
      { config: { access: 'local' }, schema: { ...schema, operationId: 'getKioskPageSlash', hide: true } },
      async (_req, reply) => reply.type(HTML).header('cache-control', 'no-store').send(KIOSK_HTML),
    );
    app.get(
      '/kiosk/state',
      {
        config: { access: 'local' },
        schema: {
          operationId: 'getKioskState',
          tags: ['kiosk'],
          summary: 'What the TV shows: the site, the fleet link, the identify card, the live meeting (this box only)',
          response: { 200: KioskStateSchema, ...refusals(401) },
        },
      },
      async (_req, reply) => reply.header('cache-control', 'no-store').send(kioskState(s)),
    );
  };
}

const HTML = 'text/html; charset=utf-8';

export const KIOSK_HTML = `<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Điểm cầu</title>
<style>
html,body{margin:0;height:100%;background:#0b2545;color:#fff;font-family:"Noto Sans",sans-serif;overflow:hidden}
#idle,#card{position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;text-align:center}
#site{font-size:6vh;font-weight:700;margin:0 4vw 4vh}
.vi{font-size:4vh}.en{font-size:3vh;opacity:.75;margin-top:1vh}
#card{background:#f4d35e;color:#0b2545}
#card .name{font-size:8vh;font-weight:700}#card .code{font-size:16vh;font-weight:800;letter-spacing:1vw}
#card.corner{inset:auto 2vw 24vh auto;width:26vw;height:auto;padding:2vh 1vw;border-radius:1.2vh;box-shadow:0 1vh 3vh rgba(0,0,0,.5);z-index:3}
#card.corner .name{font-size:3.4vh}#card.corner .code{font-size:7vh}
iframe{position:absolute;inset:0;width:100%;height:100%;border:0;background:#000}
body[data-state=updating]{background:#1d3557}body[data-state=no-network],body[data-state=offline]{background:#5c1a1b}
body[data-state=rolled-back],body[data-state=update-failed]{background:#6b4f00}
[hidden]{display:none!important}
</style></head><body>
<div id="idle"><div id="site">Điểm cầu</div><div class="vi" id="vi">Đang khởi động…</div><div class="en" id="en">Starting…</div></div>
<iframe id="meeting" hidden allow="autoplay"></iframe>
<div id="card" hidden><div class="name" id="cardName"></div><div class="code" id="cardCode"></div></div>
<script>
const TEXT = ${JSON.stringify(STATE_TEXT)};
const $ = (id) => document.getElementById(id);
function say(vi, en) { $('vi').textContent = vi; $('en').textContent = en; }
async function tick() {
  let s;
  try { s = await (await fetch('/kiosk/state', { cache: 'no-store' })).json(); }
  catch { say('Mất kết nối với bộ xử lý hình ảnh', 'Media service not reachable'); $('meeting').hidden = true; $('card').hidden = true; $('idle').hidden = false; return; }
  document.body.dataset.state = s.meeting ? 'meeting' : s.status;
  $('site').textContent = s.site ? s.site.siteName : 'Điểm cầu';
  const u = s.update || {};
  const fill = (text) => text.replace('{target}', u.target || '').replace('{current}', u.current || '').replace('{percent}', u.percent === null || u.percent === undefined ? '' : ', ' + u.percent + ' %');
  const words = TEXT[s.status] || TEXT.starting;
  say(fill(words.vi), fill(words.en));
  const m = $('meeting');
  if (s.meeting) {
    if (m.getAttribute('src') !== s.meeting.joinUrl) m.setAttribute('src', s.meeting.joinUrl);
    m.hidden = false;
  } else if (!m.hidden) { m.hidden = true; m.removeAttribute('src'); }
  $('idle').hidden = !!s.meeting;
  $('card').hidden = !s.identify;
  // During a meeting the card must not cover the picture the room is following.
  $('card').classList.toggle('corner', !!s.meeting);
  if (s.identify) { $('cardName').textContent = s.identify.siteName; $('cardCode').textContent = s.identify.code; }
}
tick(); setInterval(tick, 2000);
</script></body></html>
`;
