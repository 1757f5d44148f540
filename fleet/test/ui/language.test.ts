// Every page of the dashboard in Chromium, in Vietnamese and in English,
// against a fleet with the demo's 210 sites (both datasets), a live meeting,
// alerts and commands: no English word on a Vietnamese page beyond the
// allowed terms kept beside the translations (and no Vietnamese on an English
// page beyond names), <html lang> right from the first paint, and axe-core
// reporting no violation on any page.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { ADMIN_TOKEN, startSimFleet } from './helpers/sim-sites.js';
import { openBrowser, signIn } from './helpers/browser.js';
import { smallText, waitUntil } from './helpers/page-checks.js';
import { checkLanguage, tokens } from './helpers/words.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  id: string;
  impact: string | null;
  nodes: string[];
  why: string;
}

/** axe-core inside the page (evaluated, since the page's policy allows no injected script tag). */
async function axe(page: Page): Promise<Violation[]> {
  if ((await page.evaluate('typeof window.axe')) !== 'object') await page.evaluate(AXE);
  return page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
    id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')), why: v.nodes[0]?.failureSummary ?? '',
  })))`);
}

for (const dataset of ['yen-bai-2022', 'yen-bai-two-tier']) {
  t.test(`every page, both languages, dataset ${dataset}`, async (t) => {
    const sf = await startSimFleet({ dataset, districtWindowMs: 60_000 });
    t.teardown(() => sf.close());
    const { relayGroups, kinds } = await sf.api<{
      relayGroups: { id: string; name: string; siteIds: string[] }[];
      kinds: { label: { vi: string; en: string } }[];
    }>('GET', '/api/v1/hierarchy');
    const group = relayGroups[1]!;
    const bodies = sf.sites
      .filter((s) => s.parentId === null && !relayGroups.some((g) => g.siteIds.includes(s.id)))
      .slice(0, 4);
    await sf.online([...group.siteIds, ...bodies.map((s) => s.id)]);
    const chair = bodies[0]!;
    const members = group.siteIds.slice(1, 4);
    const meeting = await sf.api<{ id: string }>('POST', '/api/v1/meetings', {
      title: 'Giao ban trực tuyến quý IV',
      chairSiteId: chair.id,
      siteIds: members,
      durationMin: 60,
    });
    const victim = group.siteIds[5]!;
    sf.kill(victim);
    await sf.pressHelp(group.siteIds[6]!);
    const device = sf.devices.get(group.siteIds[7]!)!;
    await sf.api('POST', `/api/v1/devices/${device.deviceId}/commands`, { type: 'self-test' });
    await sf.api('POST', `/api/v1/devices/${device.deviceId}/commands`, { type: 'identify' });
    const op = await sf.api<{ token: string }>('POST', '/api/v1/operators', { name: 'Nguyễn Văn An', role: 'viewer' });

    // Names are data, in whatever language they were given: sites, groups, kinds, people, meetings.
    const operators = await sf.api<{ items: { name: string }[] }>('GET', '/api/v1/operators');
    const data = new Set(
      [
        ...sf.sites.map((s) => s.name),
        ...relayGroups.map((g) => g.name),
        ...kinds.flatMap((k) => [k.label.vi, k.label.en]),
        ...operators.items.map((o) => o.name),
        'admin (DIEMCAU_ADMIN_TOKEN)',
        'Giao ban trực tuyến quý IV',
      ].flatMap(tokens),
    );

    const pages: [string, string][] = [
      ['overview', '#/'],
      ['wall', '#/wall'],
      ['alerts', '#/alerts'],
      ['site', `#/sites/${group.siteIds[0]}`],
      ['device', `#/devices/${device.deviceId}`],
      ['meetings', '#/meetings'],
      ['meeting', `#/meetings/${meeting.id}`],
      ['rollouts', '#/rollouts'],
    ];

    const b = await openBrowser({ width: 1920, height: 1080 });
    t.teardown(() => b.close());
    const page = b.page;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // A refused or missing resource is an answer the page handles (an update report not sent yet,
    // the audit log for a viewer); a policy violation or a script error is not.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    // What <html lang> says when the document is parsed, before the bundle runs.
    await page.addInitScript(`document.addEventListener('readystatechange', () => {
      if (document.readyState === 'interactive') window.__firstLang = document.documentElement.lang;
    })`);

    for (const lang of ['vi', 'en'] as const) {
      t.test(`the sign-in page in ${lang}`, async (t) => {
        await page.goto(`${sf.url}/`);
        await page.evaluate(
          `localStorage.clear(); sessionStorage.clear(); localStorage.setItem('diemcau.lang', '${lang}')`,
        );
        await page.reload();
        await page.waitForSelector('input[name=token]');
        t.equal(await page.evaluate('window.__firstLang'), lang, '<html lang> right at the first paint');
        await checkPage(t, page, lang, data);
      });
      t.test(`signed in, every page in ${lang}`, async (t) => {
        await signIn(page, sf.url, ADMIN_TOKEN);
        for (const [name, hash] of pages) {
          await page.goto(`${sf.url}/${hash}`);
          await page.waitForSelector('main .page, main .overview, main .wall, main .empty');
          await waitUntil(
            page,
            `document.querySelector('.loading') === null && !document.body.textContent.includes('${lang === 'vi' ? 'Đang tải' : 'Loading'}')`,
          );
          if (name === 'device') await page.waitForSelector('[data-testid=commands] tr[data-type=identify]');
          await t.test(name, (t) => checkPage(t, page, lang, data));
        }
        // A viewer's pages: fewer actions, the audit log refused.
        await page.click('.topbar button.btn.ghost'); // sign out
        await signIn(page, sf.url, op.token);
        await page.goto(`${sf.url}/#/devices/${device.deviceId}`);
        await page.waitForSelector('[data-testid=commands]');
        await t.test('device, as a viewer', (t) => checkPage(t, page, lang, data));
        await page.click('.topbar button.btn.ghost');
      });
    }
    t.test('no script errors, no policy violations', async (t) => {
      t.same(errors, []);
    });
  });
}

async function checkPage(t: Test, page: Page, lang: 'vi' | 'en', data: ReadonlySet<string>): Promise<void> {
  t.equal(await page.evaluate('document.documentElement.lang'), lang, '<html lang>');
  await checkLanguage(t, page, lang, data);
  t.same(await axe(page), [], 'axe-core: no violations');
  t.same(await smallText(page), [], 'no text under 12 px');
}
