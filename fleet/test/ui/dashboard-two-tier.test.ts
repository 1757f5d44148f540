// The dashboard in Chromium against a fleet seeded with the two-tier dataset:
// no district level, so the grid and tree group by the relay groups the fleet
// sends, kind names come from the dataset, and a hub's outage is one row.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ADMIN_TOKEN, startSimFleet } from './helpers/sim-sites.js';
import { waitUntil } from './helpers/page-checks.js';
import { openBrowser, signIn } from './helpers/browser.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });

const sf = await startSimFleet({
  dataset: 'yen-bai-two-tier',
  districtWindowMs: 60_000,
  districtFraction: 0.6,
  districtMinDevices: 3,
});
t.teardown(() => sf.close());
const { relayGroups } = await sf.api<{
  relayGroups: { id: string; name: string; hubSiteId: string; siteIds: string[] }[];
}>('GET', '/api/v1/hierarchy');
const mcc = relayGroups.find((g) => g.id === 'hub-mu-cang-chai')!;
const tramTau = relayGroups.find((g) => g.id === 'hub-tram-tau')!;
// Boxes on the two groups used below and on the province's bodies; the rest have none yet.
const bodies = sf.sites.filter((s) => !relayGroups.some((g) => g.siteIds.includes(s.id))).map((s) => s.id);
await sf.online([...mcc.siteIds, ...tramTau.siteIds, ...bodies]);

const admin = await openBrowser();
t.teardown(() => admin.close());
const page = admin.page;
const pageErrors: string[] = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
await signIn(page, sf.url, ADMIN_TOKEN);

t.test('the grid groups 208 sites by relay group, the hub first', async (t) => {
  await page.waitForSelector('.tile');
  t.equal(await page.locator('.tile').count(), 208, 'one tile per site');
  t.equal(
    await page.locator('section[data-district]').count(),
    1 + relayGroups.length,
    'the province bodies and one section per relay group',
  );
  const section = page.locator(`section[data-district="${mcc.id}"]`);
  t.equal(await section.locator('h2').textContent(), mcc.name, "the group's name from the dataset");
  t.equal(await section.locator('.tile').count(), mcc.siteIds.length);
  t.equal(await section.locator('.tile').first().getAttribute('data-site'), mcc.hubSiteId, 'the hub first');
  t.equal(
    await page.textContent(`[data-testid=district-count-${mcc.id}]`),
    `${mcc.siteIds.length}/${mcc.siteIds.length}`,
  );
  // A retired centre's group: the hub is a commune's box.
  t.equal(
    await page.locator(`section[data-district="${tramTau.id}"] .tile`).first().getAttribute('data-site'),
    tramTau.hubSiteId,
  );
});

t.test("filters: by relay group, and by the dataset's kinds with their labels", async (t) => {
  await page.selectOption('.filters select >> nth=0', mcc.id);
  t.equal(await page.locator('.tile').count(), mcc.siteIds.length, 'group filter');
  await page.selectOption('.filters select >> nth=0', '');
  const kindOptions = await page.locator('.filters select >> nth=1').locator('option').allTextContents();
  t.ok(kindOptions.includes('Trụ sở khu vực (huyện cũ)'), 'a kind only the dataset knows, labelled in Vietnamese');
  t.notOk(
    kindOptions.some((o) => /huyện, thị xã/i.test(o)),
    'no district kind',
  );
  await page.selectOption('.filters select >> nth=1', 'area-centre');
  t.equal(await page.locator('.tile').count(), 7, 'seven former district sites kept as area centres');
  await page.selectOption('.filters select >> nth=1', '');
});

t.test("a hub's uplink dropping is one outage row, at the hub, expanding to the sites behind it", async (t) => {
  const behind = mcc.siteIds.filter((id) => id !== mcc.hubSiteId);
  for (const id of behind) sf.kill(id);
  await page.click('[data-testid=nav-alerts]');
  const outage = page.locator('tbody[data-type=district-outage]');
  await outage.waitFor({ timeout: 20_000 });
  await waitUntil(
    page,
    `document.querySelector('tbody[data-type=district-outage] .what .sub')?.textContent?.startsWith('${behind.length} ')`,
    20_000,
  );
  t.equal(await outage.count(), 1, 'one row for the group');
  const alerts = await sf.api<{ items: { type: string; siteId: string; details: Record<string, unknown> }[] }>(
    'GET',
    '/api/v1/alerts?state=open&type=district-outage',
  );
  t.match(alerts.items[0], { siteId: mcc.hubSiteId, details: { relayGroup: mcc.name, sitesBehind: behind.length } });
  await outage.locator('[data-testid=expand]').click();
  t.equal(
    await outage.locator('[data-testid=outage-sites] li').count(),
    behind.length,
    'expands to the sites behind the hub',
  );
  t.same(pageErrors, [], 'no script errors');
});
