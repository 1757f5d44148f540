// The readiness board and the roll call's room in Chromium, against a real
// fleet: a meeting scheduled to start shortly is checked at once; the boxes
// (real MQTT clients, as in the other dashboard tests) answer the fleet's
// retained request with what they measured: one camera black, one link lossy,
// one room sound. The board shows red, amber and green with the reasons in
// Vietnamese and in English, with no English word on the Vietnamese page
// beyond the allowed terms, and no axe-core violation. Once the meeting is
// live, the chair's roll call shows the room's picture and its quality.
// (appliance/test/e2e/readiness.test.ts runs the same with real agents.)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import {
  deviceTopic,
  readinessReportCodec,
  readinessRequestCodec,
  type ReadinessReport,
  type ReadinessRequest,
} from '@diemcau/shared';
import { ADMIN_TOKEN, startSimFleet } from './helpers/sim-sites.js';
import { openBrowser, signIn } from './helpers/browser.js';
import { waitUntil } from './helpers/page-checks.js';
import { checkLanguage, tokens } from './helpers/words.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

async function axe(page: Page): Promise<unknown[]> {
  if ((await page.evaluate('typeof window.axe')) !== 'object') await page.evaluate(AXE);
  return page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
    id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
  })))`);
}

async function checkWords(t: Test, page: Page, lang: 'vi' | 'en', data: ReadonlySet<string>): Promise<void> {
  await checkLanguage(t, page, lang, data);
  t.same(await axe(page), [], 'axe-core: no violations');
}

/** A 160×90 grey picture: a gradient for a sound room, near black for the broken camera. */
const picture = (black: boolean): string =>
  Buffer.from(
    Array.from({ length: 160 * 90 }, (_, i) => (black ? 3 : 40 + (((i % 160) + Math.floor(i / 160)) % 180))),
  ).toString('base64');

function reportFor(req: ReadinessRequest, kind: 'black' | 'lossy' | 'sound'): ReadinessReport {
  const at = new Date().toISOString();
  const probe = req.probe && {
    edgeId: req.probe.edgeId,
    sent: 625,
    received: kind === 'lossy' ? 606 : 625,
    lossRate: kind === 'lossy' ? 0.03 : 0,
    rttMsP50: kind === 'lossy' ? 48 : 9,
    rttMsP95: kind === 'lossy' ? 90 : 15,
    throughputKbps: kind === 'lossy' ? 2910 : 3000,
    rateKbps: 3000,
    durationMs: 2000,
  };
  return {
    v: 1,
    requestId: req.requestId,
    meetingId: req.meetingId,
    startedAt: at,
    finishedAt: at,
    camera:
      kind === 'black' ? { state: 'fault', reason: { code: 'black', message: 'black picture' } } : { state: 'ok' },
    microphone: { state: 'ok' },
    display: { state: 'ok' },
    probe,
    snapshot: { w: 160, h: 90, grey: picture(kind === 'black') },
  };
}

t.test('the readiness board and the roll call in Chromium, in Vietnamese and English', async (t) => {
  const sf = await startSimFleet({ meetings: { coreSignalUrl: 'http://127.0.0.1:9' } });
  t.teardown(() => sf.close());
  const { relayGroups } = await sf.api<{ relayGroups: { siteIds: string[] }[] }>('GET', '/api/v1/hierarchy');
  const bodies = sf.sites
    .filter((s) => s.parentId === null && !relayGroups.some((g) => g.siteIds.includes(s.id)))
    .slice(0, 3);
  const [sound, black, lossy] = bodies as [(typeof bodies)[0], (typeof bodies)[0], (typeof bodies)[0]];
  await sf.online(bodies.map((s) => s.id));
  // Each box answers the fleet's request as the agent would.
  const kinds = new Map([
    [sound.id, 'sound'],
    [black.id, 'black'],
    [lossy.id, 'lossy'],
  ] as const);
  for (const [siteId, kind] of kinds) {
    const dev = sf.devices.get(siteId)!;
    dev.client.on('message', (topic, payload) => {
      if (!topic.endsWith('/readiness')) return;
      const req = readinessRequestCodec.decode(payload.toString());
      if (req.ok)
        void dev.client.publishAsync(
          deviceTopic(dev.deviceId, 'readiness-report'),
          readinessReportCodec.encode(reportFor(req.value, kind)),
          { qos: 1 },
        );
    });
    await dev.client.subscribeAsync(deviceTopic(dev.deviceId, 'readiness'), { qos: 1 });
  }

  const startsAt = Date.now() + 25_000;
  const meeting = await sf.api<{ id: string }>('POST', '/api/v1/meetings', {
    title: 'Giao ban trực tuyến quý IV',
    chairSiteId: sound.id,
    siteIds: [black.id, lossy.id],
    startsAt: new Date(startsAt).toISOString(),
    durationMin: 30,
  });
  const boardUrl = `/api/v1/meetings/${meeting.id}/readiness`;
  await waitFor(async () => {
    const b = await sf.api<{ counts: Record<string, number> }>('GET', boardUrl);
    return b.counts['pending'] === 0 && b.counts['red'] === 1;
  });
  const alerts = await sf.api<{ items: { type: string; siteId: string }[] }>('GET', '/api/v1/alerts?state=open');
  t.same(
    alerts.items.filter((a) => a.type === 'site-not-ready').map((a) => a.siteId),
    [black.id],
    'one alert, for the red site',
  );

  // Names are data, in whatever language they were given (as in language.test.ts).
  const hierarchy = await sf.api<{ relayGroups: { name: string }[]; kinds: { label: { vi: string; en: string } }[] }>(
    'GET',
    '/api/v1/hierarchy',
  );
  const data = new Set(
    [
      ...sf.sites.map((s) => s.name),
      ...hierarchy.relayGroups.map((g) => g.name),
      ...hierarchy.kinds.flatMap((k) => [k.label.vi, k.label.en]),
      'admin (DIEMCAU_ADMIN_TOKEN)',
      'Giao ban trực tuyến quý IV',
    ].flatMap(tokens),
  );
  const b = await openBrowser({ width: 1024, height: 768 });
  t.teardown(() => b.close());
  const page = b.page;
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await signIn(page, sf.url, ADMIN_TOKEN);

  const expected = {
    vi: { red: 'Camera cho hình đen', amber: 'Mất 3 % gói tin trên đường tới máy chủ tỉnh', ready: 'Sẵn sàng' },
    en: {
      red: 'Camera gives a black picture',
      amber: "3 % packet loss on the link to the province's core",
      ready: 'Ready',
    },
  };
  for (const lang of ['vi', 'en'] as const) {
    await page.evaluate(`localStorage.setItem('diemcau.lang', '${lang}')`);
    await page.goto(`${sf.url}/#/meetings/${meeting.id}`);
    await page.reload();
    await page.waitForSelector('[data-testid=readiness-table] tr[data-colour=green]');
    const rows = await page.$$eval('[data-testid=readiness-table] tbody tr', (trs) =>
      trs.map((tr) => ({
        site: tr.getAttribute('data-site'),
        colour: tr.getAttribute('data-colour'),
        text: tr.textContent ?? '',
      })),
    );
    t.same(
      rows.map((r) => [r.site, r.colour]),
      [
        [black.id, 'red'],
        [lossy.id, 'amber'],
        [sound.id, 'green'],
      ],
      `${lang}: red first, then amber, then green`,
    );
    t.match(rows[0]!.text, expected[lang].red);
    t.match(rows[1]!.text, expected[lang].amber);
    t.match(rows[2]!.text, expected[lang].ready);
    await t.test(`the board in ${lang}`, (t) => checkWords(t, page, lang, data));
  }

  // Live: the chair steps the roll call to the lossy room and sees its picture and quality.
  await new Promise((r) => setTimeout(r, Math.max(0, startsAt - Date.now() + 500)));
  await sf.api('POST', `/api/v1/meetings/${meeting.id}/roll-call`, { siteId: lossy.id });
  await page.evaluate(`localStorage.setItem('diemcau.lang', 'vi')`);
  await page.goto(`${sf.url}/#/meetings/${meeting.id}`);
  await page.reload();
  await page.waitForSelector('[data-testid=roll-call-room] canvas[data-testid=room-picture]');
  await waitUntil(page, `document.querySelector('[data-testid=room-quality]').textContent.includes('Cần lưu ý')`);
  const pixel = await page.evaluate<number[]>(`(() => {
    const c = document.querySelector('[data-testid=room-picture]');
    return [c.width, c.height, c.getContext('2d').getImageData(80, 45, 1, 1).data[0]];
  })()`);
  t.equal(pixel[0], 160, 'the picture is drawn at its size');
  t.ok(pixel[2]! > 20, `the room's picture is drawn (grey ${pixel[2]})`);
  t.match(
    await page.textContent('[data-testid=room-quality]'),
    /mất 3 % gói tin|Mất 3 % gói tin/,
    'its measured loss is shown',
  );
  // These simulated boxes announce no edge address: no live picture, and the console says why.
  const live = page.locator('[data-testid=room-live-picture][data-status=no-address]');
  await live.waitFor();
  t.match(await live.innerText(), /chưa báo địa chỉ/, 'no live picture: the chairing edge has no address yet');
  t.match(
    await page.textContent('[data-testid=room-still]'),
    /Ảnh dự phòng/,
    'the still from the check is labelled as the fallback',
  );
  await t.test('the roll call in vi', (t) => checkWords(t, page, 'vi', data));
  t.same(errors, [], 'no script errors');
});

async function waitFor(fn: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}
