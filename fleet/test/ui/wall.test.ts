// The projector wall in Chromium against a real fleet with every site of the
// demo, for the 2022 four-level dataset and the two-tier one: all sites on one
// 1920×1080 screen without scrolling, still readable on a 4K screen and a
// 1024×768 tablet (one-row top bar), offline sites listed with their group's
// name, full names on hover, and a banner until someone enables the sound.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ADMIN_TOKEN, startSimFleet } from './helpers/sim-sites.js';
import { openBrowser, screenshot, signIn } from './helpers/browser.js';
import { layout, offScreen, smallText, topbarRows, waitUntil } from './helpers/page-checks.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });

interface Group {
  id: string;
  name: string;
  hubSiteId: string;
  siteIds: string[];
}

for (const dataset of ['yen-bai-2022', 'yen-bai-two-tier']) {
  t.test(`the wall, dataset ${dataset}`, async (t) => {
    const sf = await startSimFleet({ dataset });
    t.teardown(() => sf.close());
    const { relayGroups } = await sf.api<{ relayGroups: Group[] }>('GET', '/api/v1/hierarchy');
    const group = relayGroups[2]!;
    const noBox = new Set(group.siteIds.slice(-2));
    await sf.online(sf.sites.filter((s) => !noBox.has(s.id)).map((s) => s.id));
    const down = group.siteIds.filter((id) => id !== group.hubSiteId && !noBox.has(id)).slice(0, 2);

    // Sound needs a click here, as in a real browser on a wall screen.
    const b = await openBrowser({
      width: 1920,
      height: 1080,
      args: ['--autoplay-policy=document-user-activation-required'],
    });
    t.teardown(() => b.close());
    const page = b.page;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    await signIn(page, sf.url, ADMIN_TOKEN);
    await page.goto(`${sf.url}/#/wall`);
    await waitUntil(
      page,
      `document.querySelectorAll('.wcell[data-state=online]').length === ${sf.sites.length - noBox.size}`,
      30_000,
    );

    t.test('1920×1080: every site on one screen, no scrolling', async (t) => {
      t.equal(await page.locator('.wcell').count(), sf.sites.length, 'one cell per site');
      t.equal(
        await page.locator('.wall-block').count(),
        relayGroups.length + 1,
        'a block per group and one for the province bodies',
      );
      const l = await layout(page);
      t.ok(l.scrollHeight <= l.innerHeight, `no vertical scroll (${l.scrollHeight} ≤ ${l.innerHeight})`);
      t.ok(l.scrollWidth <= l.innerWidth, 'no horizontal scroll');
      t.same(await offScreen(page, '.wcell'), [], 'every cell inside the window');
      t.same(await smallText(page), [], 'no text under 12 px');
      const hub = page.locator(`.wcell[data-site="${group.hubSiteId}"]`);
      const hubSite = sf.sites.find((s) => s.id === group.hubSiteId)!;
      t.match(await hub.getAttribute('title'), hubSite.name, 'the full name on hover');
      t.equal(
        await page.locator(`.wall-block[data-group="${group.id}"] .wall-name`).textContent(),
        group.name,
        "the group's name heads its block",
      );
    });

    t.test('the sound banner stays until someone enables sound, then alerts chime', async (t) => {
      // Signing in was a click, which lets the page sound; a wall that was
      // opened with a remembered token (or reloaded overnight) has had none.
      t.equal(await page.locator('[data-testid=sound-banner]').count(), 0, 'no banner once the page has been clicked');
      await page.evaluate(`localStorage.setItem('diemcau.token', ${JSON.stringify(ADMIN_TOKEN)})`);
      const fresh = await b.browser.newPage();
      t.teardown(() => fresh.close());
      await fresh.goto(`${sf.url}/#/wall`);
      await fresh.locator('[data-testid=sound-banner]').waitFor();
      await fresh.click('[data-testid=enable-sound]');
      await fresh.locator('[data-testid=sound-banner]').waitFor({ state: 'detached' });
      t.equal(await fresh.evaluate('localStorage.getItem("diemcau.sound")'), 'on', 'the choice is kept');
      for (const id of down) sf.kill(id);
      await waitUntil(fresh, `Number(document.querySelector('[data-testid=wall]').dataset.chimes) > 0`, 15_000);
      t.pass('a chime played for the new alerts');
      for (const id of down)
        await page.waitForSelector(`.wcell[data-site="${id}"][data-state=offline]`, { timeout: 15_000 });
      const listed = page.locator('[data-testid=wall-list-offline] li');
      t.equal(await listed.count(), down.length, 'the offline sites are listed');
      t.match(await listed.first().textContent(), group.name, "with their group's name");
      const l = await layout(page);
      t.ok(l.scrollHeight <= l.innerHeight, 'still no vertical scroll with the list and without the banner');
      await screenshot(page, `wall-${dataset}`);
    });

    t.test('3840×2160: fills the screen with larger type', async (t) => {
      await page.setViewportSize({ width: 3840, height: 2160 });
      await waitUntil(page, `Number(document.querySelector('[data-testid=wall]').dataset.font) > 20`, 10_000);
      const l = await layout(page);
      t.ok(l.scrollHeight <= l.innerHeight && l.scrollWidth <= l.innerWidth, 'no scrolling');
      t.same(await offScreen(page, '.wcell'), [], 'every cell inside the window');
      t.same(await smallText(page, 18), [], 'no text under 18 px on a 4K wall');
    });

    t.test('1024×768 tablet: one-row top bar, readable type, nothing off to the side', async (t) => {
      await page.setViewportSize({ width: 1024, height: 768 });
      await waitUntil(page, `Number(document.querySelector('[data-testid=wall]').dataset.font) <= 20`, 10_000);
      t.equal(await topbarRows(page), 1, 'the top bar is one row');
      const l = await layout(page);
      t.ok(l.scrollWidth <= l.innerWidth, 'no horizontal scroll');
      t.same(await smallText(page), [], 'no text under 12 px');
      await screenshot(page, `wall-tablet-${dataset}`);
      await page.setViewportSize({ width: 1920, height: 1080 });
    });

    t.test('no script or policy errors', async (t) => {
      t.same(errors, []);
    });
  });
}
