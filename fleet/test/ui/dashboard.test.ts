// The dashboard in Debian's Chromium against a real fleet with 210 simulated
// sites: grid, live offline tile and alert, grouped district outage,
// acknowledge, a reboot from the device page, language switch, and a district
// operator who sees only his district. Its screenshots (the README links them) are written by `npm run screenshots`.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Peripherals } from '@diemcau/shared';
import { ADMIN_TOKEN, startSimFleet } from './helpers/sim-sites.js';
import { smallText, topbarRows, waitUntil } from './helpers/page-checks.js';
import { openBrowser, screenshot, signIn } from './helpers/browser.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });

// A district outage needs most of a district to drop within the window.
const sf = await startSimFleet({ districtWindowMs: 60_000, districtFraction: 0.6, districtMinDevices: 3 });
t.teardown(() => sf.close());

const districts = sf.sites.filter((s) => s.kind === 'district');
const communesOf = (id: string) => sf.sites.filter((s) => s.parentId === id);
const [homeDistrict, outageDistrict, lastDistrict] = [districts[2]!, districts[6]!, districts[districts.length - 1]!];
// A few sites have no box yet, two have a broken camera: what a real province looks like.
const noBox = new Set(
  communesOf(lastDistrict.id)
    .slice(0, 3)
    .map((s) => s.id),
);
const brokenCamera = new Set([communesOf(districts[3]!.id)[1]!.id, communesOf(districts[5]!.id)[2]!.id]);
const periph = (id: string): Peripherals => ({
  camera: brokenCamera.has(id) ? 'missing' : 'ok',
  microphone: 'ok',
  display: 'ok',
  gpio: 'ok',
});
await sf.online(
  sf.sites.filter((s) => !noBox.has(s.id)).map((s) => s.id),
  periph,
);

const admin = await openBrowser();
t.teardown(() => admin.close());
const page = admin.page;
const pageErrors: string[] = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
await signIn(page, sf.url, ADMIN_TOKEN);
// A marker that a reload would wipe: "live" means it is still there afterwards.
// (Page-side code is given as strings: the Node typecheck has no DOM types.)
await page.evaluate('window.__sameDocument = true');
const sameDocument = async () => (await page.evaluate('window.__sameDocument === true')) === true;

t.test('the grid shows all 210 sites, coloured by state, with counts', async (t) => {
  await page.waitForSelector('.tile');
  await waitUntil(
    page,
    `document.querySelectorAll('.tile[data-state=online]').length >= ${210 - noBox.size - brokenCamera.size}`,
  );
  t.equal(await page.locator('.tile').count(), 210, 'one tile per site');
  t.equal(await page.locator('.tile[data-state=nobox]').count(), noBox.size, 'sites without a box');
  t.equal(await page.locator('.tile[data-state=degraded]').count(), brokenCamera.size, 'sites with a broken camera');
  t.equal(await page.textContent('[data-testid=count-online] .stat-n'), String(210 - noBox.size - brokenCamera.size));
  const homeDistrictCount = await page.textContent(`[data-testid=district-count-${homeDistrict.id}]`);
  t.equal(
    homeDistrictCount,
    `${communesOf(homeDistrict.id).length + 1}/${communesOf(homeDistrict.id).length + 1}`,
    'per-district count',
  );
  await screenshot(page, 'grid');
  // The same grid on a projector: 1920 × 1080, everything a step bigger.
  await page.setViewportSize({ width: 1920, height: 1080 });
  await screenshot(page, 'grid-projector');
  await page.setViewportSize({ width: 1440, height: 900 });
});

t.test('search and district filter narrow the grid', async (t) => {
  const commune = communesOf(homeDistrict.id)[4]!;
  const plain = commune.name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D');
  await page.fill('input.search', plain);
  await page.waitForSelector(`.tile[data-site="${commune.id}"]`);
  t.ok((await page.locator('.tile').count()) < 10, 'search without diacritics finds the commune');
  await page.fill('input.search', '');
  await page.selectOption('.filters select >> nth=0', homeDistrict.id);
  t.equal(await page.locator('.tile').count(), communesOf(homeDistrict.id).length + 1, 'district filter');
  await page.selectOption('.filters select >> nth=0', '');
  t.equal(await page.locator('.tile').count(), 210);
});

t.test('killing an agent turns its tile red and adds an alert row, without a reload', async (t) => {
  const victim = communesOf(homeDistrict.id)[3]!;
  sf.kill(victim.id);
  await page.waitForSelector(`.tile[data-site="${victim.id}"][data-state=offline]`, { timeout: 15_000 });
  await page.waitForSelector('[data-testid=alert-badge]');
  await page.click('[data-testid=nav-alerts]');
  const row = page.locator('tbody[data-type=device-offline]', { hasText: victim.name });
  await row.waitFor({ timeout: 15_000 });
  t.equal(await row.count(), 1, 'one offline row for the site');
  t.ok(await sameDocument(), 'no reload happened');
});

t.test('an alert is acknowledged with a note', async (t) => {
  const row = page.locator('tbody[data-type=device-offline]').first();
  await row.locator('[data-testid=ack]').click();
  await page.fill('dialog textarea', 'Đã gọi cán bộ xã, đang kiểm tra nguồn điện');
  await page.click('[data-testid=ack-save]');
  await row.locator('.acked').waitFor();
  t.match(await row.textContent(), /Đã gọi cán bộ xã/);
  const acks = await sf.api<{ items: { note: string }[] }>('GET', '/api/v1/alert-acks');
  t.equal(acks.items[0]?.note, 'Đã gọi cán bộ xã, đang kiểm tra nguồn điện', 'stored on the fleet');
});

t.test('unplugging a camera turns the tile amber without a reload', async (t) => {
  const site = communesOf(districts[1]!.id)[3]!;
  await page.click('[data-testid=nav-overview]');
  await sf.report(site.id, { camera: 'missing', microphone: 'ok', display: 'ok', gpio: 'ok' });
  await page.waitForSelector(`.tile[data-site="${site.id}"][data-state=degraded]`, { timeout: 15_000 });
  await sf.report(site.id, { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'ok' });
  await page.waitForSelector(`.tile[data-site="${site.id}"][data-state=online]`, { timeout: 15_000 });
  t.ok(await sameDocument(), 'back to green, no reload');
  await page.click('[data-testid=nav-alerts]');
});

t.test('the help button marks the tile and the province closes it after calling back', async (t) => {
  const site = communesOf(districts[1]!.id)[2]!;
  await sf.pressHelp(site.id);
  const row = page.locator('tbody[data-type=help-requested]', { hasText: site.name });
  await row.waitFor({ timeout: 15_000 });
  await page.click('[data-testid=nav-overview]');
  await page.waitForSelector(`.tile[data-site="${site.id}"] .tile-help`);
  await page.click('[data-testid=nav-alerts]');
  await row.locator('.help-done').click();
  await page
    .locator('tbody.is-open[data-type=help-requested]', { hasText: site.name })
    .waitFor({ state: 'detached', timeout: 15_000 });
  const open = await sf.api<{ items: unknown[] }>('GET', '/api/v1/alerts?state=open&type=help-requested');
  t.equal(open.items.length, 0, 'resolved on the fleet');
});

t.test('a district outage shows as one grouped row that expands to its sites', async (t) => {
  const members = [outageDistrict, ...communesOf(outageDistrict.id)];
  for (const s of members) sf.kill(s.id);
  const outage = page.locator(`tbody[data-type=district-outage]`);
  await outage.waitFor({ timeout: 20_000 });
  // Every member is dropped; wait until the incident lists them all.
  await waitUntil(
    page,
    `document.querySelector('tbody[data-type=district-outage] .what .sub')?.textContent?.startsWith('${members.length} ')`,
    20_000,
  );
  t.equal(await outage.count(), 1, 'one row for the whole district');
  const memberNames = new Set(members.map((m) => m.name));
  const openOffline = await page.locator('tbody.is-open[data-type=device-offline] td:nth-child(3) a').allTextContents();
  t.same(
    openOffline.filter((n) => memberNames.has(n)),
    [],
    'no separate offline rows for the district',
  );
  await outage.locator('[data-testid=expand]').click();
  t.equal(await outage.locator('[data-testid=outage-sites] li').count(), members.length, 'expands to its sites');
  t.ok(await sameDocument(), 'no reload happened');
  await screenshot(page, 'alerts');
});

t.test('a reboot issued from the device page reaches the device and its result appears', async (t) => {
  const site = communesOf(homeDistrict.id)[0]!;
  const dev = sf.devices.get(site.id)!;
  await page.goto(`${sf.url}/#/sites/${site.id}`);
  await page.click(`a[data-device="${dev.deviceId}"]`);
  await page.waitForSelector('[data-testid=chart-cpu][data-points="12"] canvas');
  // A new sample extends the chart while the page is open.
  await sf.sample(site.id, 12, 64);
  await page.waitForSelector('[data-testid=chart-cpu][data-points="13"]', { timeout: 15_000 });
  t.pass('live telemetry on the chart');
  await page.click('.actions [data-action=reboot]');
  t.equal(await page.getAttribute('[data-testid=confirm-count]', 'data-count'), '1', 'the confirmation names one box');
  t.equal(await page.locator('[data-testid=meeting-warning]').count(), 0, 'no meeting there, no warning');
  // Every stage the dialog shows, in order (a transient one would slip past a polling wait).
  await page.evaluate(`window.__stages = []; new MutationObserver(() => {
    const el = document.querySelector('[data-testid=reboot-stage]');
    const s = el && el.dataset.stage + (el.querySelector('.steps li:nth-child(4).done') ? ':done' : '');
    if (s && window.__stages[window.__stages.length - 1] !== s) window.__stages.push(s);
  }).observe(document.body, { subtree: true, childList: true, attributes: true })`);
  await page.click('[data-testid=confirm-send]');
  await page.waitForSelector('[data-testid=command-sent]');
  // Accepted is not done: the box drops off, comes back, and its uptime starts again.
  await page.waitForSelector('[data-testid=reboot-stage][data-stage=back]', { timeout: 30_000 });
  const stages = (await page.evaluate('window.__stages')) as string[];
  t.ok(stages.includes('offline'), `the box was seen switched off (${stages.join(' → ')})`);
  t.equal(stages[stages.length - 1], 'back:done', 'done only when back');
  t.notOk(
    stages.slice(0, -1).some((s) => s.endsWith(':done')),
    'never counted as done before',
  );
  t.match(
    await page.textContent('[data-testid=reboot-stage]'),
    /khởi động lại xong, chạy được \d+ giây/,
    'back, with its new uptime',
  );
  await page.click('dialog .modal-actions .btn');
  await page.waitForSelector('tr[data-type=reboot][data-status=succeeded][data-stage=back]', { timeout: 20_000 });
  t.same(dev.commands, ['reboot'], 'the simulated box received exactly one reboot');
  t.match(await page.textContent('tr[data-type=reboot] td:nth-child(3)'), /admin/, "the sender's name, not an id");
  // A self-test's findings appear in their card when the box reports them.
  await page.click('.actions [data-action=self-test]');
  await page.click('[data-testid=confirm-send]');
  await page.waitForSelector('[data-testid=command-sent]');
  await page.click('dialog .modal-actions .btn');
  await page.waitForSelector('.selftests li.ok', { timeout: 20_000 });
  await page.waitForSelector('tr[data-type=self-test][data-status=succeeded]', { timeout: 20_000 });
  t.pass('self-test result shown');
  await screenshot(page, 'device', true);
});

t.test('a subtree action says how many boxes it touches', async (t) => {
  await page.goto(`${sf.url}/#/`);
  const section = page.locator(`section.district[data-district="${homeDistrict.id}"]`);
  await section.locator('summary').click();
  await section.locator('[data-action=identify]').click();
  const online = [homeDistrict, ...communesOf(homeDistrict.id)].filter((s) => sf.devices.has(s.id)).length;
  const expected = communesOf(homeDistrict.id).length + 1; // the killed box still counts: its command waits
  t.equal(await page.getAttribute('[data-testid=confirm-count]', 'data-count'), String(expected));
  t.match(await page.textContent('dialog'), new RegExp(`${expected - online} hộp đang mất kết nối`));
  await page.click('dialog .modal-actions .btn.ghost');
});

t.test('the language switch changes the labels', async (t) => {
  t.equal(
    (await page.textContent('[data-testid=nav-alerts]'))?.replace(/\d+$/, '').trim(),
    'Cảnh báo',
    'Vietnamese by default',
  );
  await page.click('button[data-lang=en]');
  t.equal((await page.textContent('[data-testid=nav-alerts]'))?.replace(/\d+$/, '').trim(), 'Alerts');
  t.match(await page.textContent('[data-testid=count-online]'), /Online/);
  await page.click('button[data-lang=vi]');
  t.match(await page.textContent('[data-testid=count-online]'), /Trực tuyến/);
});

t.test('a site without a box gets an enrolment token and its QR code', async (t) => {
  const target = [...noBox][0]!;
  await page.goto(`${sf.url}/#/sites/${target}`);
  await page.click('.enrol .btn.primary');
  const out = page.locator('[data-testid=enrol-token]');
  await out.waitFor();
  t.equal(await out.locator('.qr svg').count(), 1, 'QR code drawn');
  const token = (await out.locator('code.token').textContent())?.trim() ?? '';
  // The token is real: a box enrols with it at that site.
  const res = await fetch(`${sf.url}/api/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, hardware: { serial: 'new-box-1' } }),
  });
  t.equal(res.status, 200);
  t.equal(((await res.json()) as { siteId: string }).siteId, target);
});

t.test(
  'meetings: a live meeting is listed, its sites show as in a meeting, its media figures have a row per site',
  async (t) => {
    const chair = sf.sites.find((s) => s.kind === 'peoples-committee')!;
    const members = communesOf(districts[7]!.id).slice(0, 4);
    const res = await fetch(`${sf.url}/api/v1/meetings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: 'Giao ban trực tuyến tháng 11',
        chairSiteId: chair.id,
        siteIds: members.map((m) => m.id),
        durationMin: 90,
      }),
    });
    t.equal(res.status, 201, await res.clone().text());
    const meeting = (await res.json()) as { id: string };
    await page.goto(`${sf.url}/#/meetings`);
    await page.locator(`tr[data-meeting="${meeting.id}"]`).waitFor();
    await page.click('[data-testid=nav-overview]');
    for (const s of [chair, ...members]) await page.waitForSelector(`.tile[data-site="${s.id}"][data-state=meeting]`);
    t.pass("the meeting's sites are purple on the grid");
    await page.goto(`${sf.url}/#/meetings/${meeting.id}`);
    await page.locator('[data-testid=meeting-stats] tbody tr').first().waitFor();
    t.equal(await page.locator('[data-testid=meeting-stats] tbody tr').count(), members.length + 1);
    await screenshot(page, 'meeting');

    // A reboot during the meeting is refused until the operator forces it with a reason.
    const member = members[0]!;
    const dev = sf.devices.get(member.id)!;
    await page.goto(`${sf.url}/#/devices/${dev.deviceId}`);
    await page.click('.actions [data-action=reboot]');
    // The first confirmation already names the meeting, and asks for a reason.
    const warning = page.locator('[data-testid=meeting-warning]');
    await warning.waitFor();
    t.match(await warning.textContent(), /Đang họp: “Giao ban trực tuyến tháng 11”/, 'the live meeting, by its title');
    t.match(await warning.textContent(), new RegExp(`chủ trì: ${chair.name}`), 'and its chair, by name');
    t.ok(await page.isChecked('dialog input[type=checkbox]'), 'forcing is offered from the start');
    t.ok(await page.isDisabled('[data-testid=confirm-send]'), 'nothing goes without a reason');
    // Sent without forcing, the fleet refuses: the page says so in Vietnamese, not the server's English.
    await page.uncheck('dialog input[type=checkbox]');
    await page.click('[data-testid=confirm-send]');
    const refusal = page.locator('[data-testid=command-error]');
    await refusal.waitFor();
    t.match(await refusal.textContent(), /^Điểm cầu đang họp: lệnh bị từ chối/);
    t.notMatch(await refusal.textContent(), /meeting|force|live/i, 'no English');
    t.ok(await page.isChecked('dialog input[type=checkbox]'), 'the refusal offers to force');
    t.same(dev.commands, [], 'nothing reached the box');
    await page.fill('dialog .field input', 'Máy treo, chủ trì đồng ý khởi động lại');
    await page.click('[data-testid=confirm-send]');
    await page.waitForSelector('[data-testid=command-sent]');
    await page.click('dialog .modal-actions .btn');
    await page.waitForSelector('tr[data-type=reboot][data-status=succeeded][data-stage=back]', { timeout: 30_000 });
    t.same(dev.commands, ['reboot'], 'the forced reboot reached the box');
  },
);

t.test("the rollouts view is there for the fleet's OTA module", async (t) => {
  await page.goto(`${sf.url}/#/rollouts`);
  await page.locator('h1', { hasText: 'Cập nhật phần mềm' }).waitFor();
  t.equal(await page.locator('.empty').textContent(), 'Chưa có đợt cập nhật nào.');
});

t.test('a district operator sees only that district, live', async (t) => {
  const op = await sf.api<{ token: string }>('POST', '/api/v1/operators', {
    name: 'Cán bộ huyện',
    role: 'district-operator',
    districtId: homeDistrict.id,
  });
  const b = await openBrowser({ width: 1024, height: 768 });
  t.teardown(() => b.close());
  await signIn(b.page, sf.url, op.token);
  await b.page.waitForSelector('.tile');
  const own = new Set([homeDistrict.id, ...communesOf(homeDistrict.id).map((s) => s.id)]);
  const shown = await b.page.locator('.tile').evaluateAll((els) => els.map((e) => e.getAttribute('data-site')));
  t.equal(shown.length, own.size, 'every site of the district');
  t.same(
    shown.filter((id) => !own.has(id ?? '')),
    [],
    'no site of another district',
  );
  t.equal(await topbarRows(b.page), 1, 'the top bar is one row on the tablet');
  t.same(await smallText(b.page), [], 'no text under 12 px on the tablet');
  t.equal(
    await b.page.textContent('.tree-row.root .tree-label'),
    homeDistrict.name,
    "the tree's root is the operator's district, not the province",
  );
  await screenshot(b.page, 'grid-district-operator-tablet');
  // An outage elsewhere never reaches this operator's page, while one in his district does.
  const elsewhere = communesOf(districts[4]!.id)[0]!;
  const mine = communesOf(homeDistrict.id)[5]!;
  sf.kill(elsewhere.id);
  sf.kill(mine.id);
  await b.page.waitForSelector(`.tile[data-site="${mine.id}"][data-state=offline]`, { timeout: 15_000 });
  await b.page.click('[data-testid=nav-alerts]');
  await b.page.locator('tbody[data-type=device-offline]', { hasText: mine.name }).waitFor();
  t.equal(
    await b.page.locator('tbody[data-type=district-outage]').count(),
    0,
    "the other district's outage is not shown",
  );
  t.equal(
    await b.page.locator('tbody', { hasText: elsewhere.name }).count(),
    0,
    "nor the other district's offline site",
  );
});

t.test('no script errors on the page', async (t) => {
  t.same(pageErrors, []);
});
