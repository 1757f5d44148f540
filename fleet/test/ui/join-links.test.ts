// The join-link panel of a meeting in Debian's Chromium, against a real fleet
// with simulated boxes (real MQTT clients): the province's operator issues a
// listener link for a commune; the link shown is the one the fleet signed for
// that meeting and site (it verifies with the key the commune's edge receives
// in its plan), its QR code, photographed off the page and decoded, is the
// join page's address, and the list shows it valid; revoked through the
// confirm, the list shows it revoked and the commune's edge is told to refuse
// it. An operator of another district is offered only its own site, is told
// why the others are missing, and the fleet refuses it a link for a commune
// outside its area, which the panel words as such. A viewer sees no panel.
// The panel's words pass the language check in Vietnamese and English.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { deviceTopic, presenceCodec, readJoinClaims, verifyJoinLink } from '@diemcau/shared';
import { makeI18n } from '../../ui/i18n/core.js';
import { joinLinkErrorKey, linkOf } from '../../ui/state/join-links.js';
import { planWhere } from '../helpers/plans.js';
import { makeProvinceCa } from '../helpers/province-ca.js';
import { ADMIN_TOKEN, startSimFleet } from './helpers/sim-sites.js';
import { scanQr } from './helpers/qr.js';
import { openBrowser, screenshot, signIn } from './helpers/browser.js';
import { waitUntil } from './helpers/page-checks.js';
import { checkLanguage, tokens } from './helpers/words.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const vi = makeI18n('vi', () => {});

async function checkWords(t: Test, page: Page, lang: 'vi' | 'en', data: ReadonlySet<string>): Promise<void> {
  await checkLanguage(t, page, lang, data);
  if ((await page.evaluate('typeof window.axe')) !== 'object') await page.evaluate(AXE);
  const violations = await page.evaluate(`axe.run(document.querySelector('[data-testid=join-links]'), {
    resultTypes: ['violations'] }).then((r) => r.violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`);
  t.same(violations, [], 'axe-core: no violations in the panel');
}

/** The fleet's answer, body and all (the page's API client reads the same fields). */
async function raw(url: string, method: string, p: string, token: string, body?: unknown) {
  const res = await fetch(url + p, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { code?: string; details?: unknown } };
}

t.test('join links from the dashboard: issue, scan, list, revoke, and scope', async (t) => {
  const sf = await startSimFleet({ provinceCaFile: makeProvinceCa(t) });
  t.teardown(() => sf.close());
  const districts = sf.sites.filter((s) => s.kind === 'district');
  const [d1, d2] = districts as [(typeof districts)[0], (typeof districts)[0]];
  const c1 = sf.sites.find((s) => s.parentId === d1.id)!;
  const c2 = sf.sites.find((s) => s.parentId === d2.id)!;
  await sf.online([d1.id, c1.id, c2.id]);
  // The district's and the commune's boxes announce their edges' addresses, as an
  // agent running an edge does (the commune's plan waits for its upstream's).
  // Nothing listens there: the test follows the link only as far as its address.
  const announce = (siteId: string, mediaUrl: string) => {
    const dev = sf.devices.get(siteId)!;
    return dev.client.publishAsync(
      deviceTopic(dev.deviceId, 'presence'),
      presenceCodec.encode({
        v: 1,
        state: 'online',
        at: new Date().toISOString(),
        agentVersion: '0.1.0-sim',
        hardware: 'simulated',
        peripherals: { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'ok' },
        mediaUrl,
      }),
      { qos: 1, retain: true },
    );
  };
  const edgeUrl = 'https://127.0.0.1:7444';
  await announce(d1.id, 'https://127.0.0.1:7443');
  await announce(c1.id, edgeUrl);
  const box = sf.devices.get(c1.id)!;
  const title = 'Giao ban trực tuyến quý IV';
  const meeting = await sf.api<{ id: string }>('POST', '/api/v1/meetings', {
    title,
    chairSiteId: d1.id,
    siteIds: [c1.id, c2.id],
    durationMin: 60,
  });
  const plan = await planWhere(box.client, box.deviceId, (p) => p.meetings.length === 1 && p.joinKey !== undefined);
  const areaOp = await sf.api<{ token: string; name: string }>('POST', '/api/v1/operators', {
    name: `Cán bộ ${d2.name}`,
    role: 'area-operator',
    area: { kind: 'subtree', siteId: d2.id },
  });
  const viewer = await sf.api<{ token: string }>('POST', '/api/v1/operators', { name: 'Xem', role: 'viewer' });

  const data = new Set(
    [...sf.sites.map((s) => s.name), 'admin (DIEMCAU_ADMIN_TOKEN)', title, areaOp.name, 'Xem'].flatMap(tokens),
  );
  const b = await openBrowser({ width: 1280, height: 900 });
  t.teardown(() => b.close());
  const page = b.page;
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await b.browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: sf.url });
  await signIn(page, sf.url, ADMIN_TOKEN);
  await page.goto(`${sf.url}/#/meetings/${meeting.id}`);
  const panel = page.locator('[data-testid=join-links]');
  await panel.waitFor();
  t.match(await panel.locator('h2').innerText(), 'Đường dẫn tham gia');
  t.same(
    await panel.locator('select[name=siteId] option').evaluateAll((os) => os.map((o) => o.getAttribute('value'))),
    [d1.id, c1.id, c2.id],
    "the province's operator is offered every site of the meeting, the chair first",
  );
  t.equal(await panel.locator('[data-testid=join-outside]').count(), 0, 'and none is said to be outside its area');
  t.equal(await panel.locator('input[name=ttlMin]').inputValue(), '120', 'valid 120 minutes unless changed');

  await panel.locator('select[name=siteId]').selectOption(c1.id);
  await panel.locator('input[name=role][value=listener]').check();
  await panel.locator('input[name=ttlMin]').fill('30');
  await panel.locator('[data-testid=join-issue]').click();
  const shown = panel.locator('[data-testid=join-issued]');
  await shown.waitFor();

  await t.test('the link shown is the one the fleet signed for this meeting and site', async (t) => {
    const url = await shown.locator('[data-testid=join-url]').inputValue();
    t.ok(url.startsWith(`${edgeUrl}/media/v1/join?link=`), "it opens the commune's edge's join page");
    const link = linkOf(url);
    const checked = verifyJoinLink(link, plan.joinKey!, Date.now());
    t.ok(checked.ok, "it verifies with the key in the commune's edge's plan");
    const claims = readJoinClaims(link)!;
    t.match(claims, { meetingId: meeting.id, siteId: c1.id, role: 'listener' });
    t.ok(claims.exp - claims.iat <= 30 * 60 && claims.exp - claims.iat >= 29 * 60, 'valid for the 30 minutes asked');
    t.equal(await shown.getAttribute('data-link'), claims.jti);
    t.equal(
      await scanQr(page, '[data-testid=join-qr]'),
      url,
      'its QR code, photographed and decoded, is the same address',
    );
    t.ok(await shown.locator('a[href="/ca"]').isVisible(), "the hint links to the province's certificate page");
    t.equal((await fetch(`${sf.url}/ca`)).status, 200, 'a page the fleet serves');
    await shown.locator('[data-testid=join-copy]').click();
    await shown.locator('[role=status]').waitFor();
    t.equal(await page.evaluate('navigator.clipboard.readText()'), url, 'copy puts the address on the clipboard');
  });
  const jti = readJoinClaims(linkOf(await shown.locator('[data-testid=join-url]').inputValue()))!.jti;
  const row = panel.locator(`[data-testid=join-list] tr[data-link="${jti}"]`);
  await row.waitFor();
  t.equal(await row.getAttribute('data-state'), 'active', 'listed as valid');
  const rowText = await row.innerText();
  t.match(rowText, c1.name);
  t.match(rowText, 'Chỉ nghe và xem');
  t.match(rowText, 'admin', 'with who issued it');
  t.match(rowText, 'Còn hiệu lực');

  await page.evaluate(`document.querySelector('[data-testid=join-links]').scrollIntoView()`);
  await screenshot(page, 'join-links');
  await t.test('the panel reads in Vietnamese', (t) => checkWords(t, page, 'vi', data));
  await page.evaluate(`localStorage.setItem('diemcau.lang', 'en')`);
  await page.reload();
  await panel.waitFor();
  await row.waitFor();
  t.match(await row.innerText(), 'Valid');
  await t.test('the panel reads in English', (t) => checkWords(t, page, 'en', data));
  await page.evaluate(`localStorage.setItem('diemcau.lang', 'vi')`);
  await page.reload();
  await row.waitFor();
  t.equal(await panel.locator('[data-testid=join-issued]').count(), 0, 'the link itself is gone once the page reloads');

  // Revoke, through the confirm.
  await row.locator('[data-testid=join-revoke]').click();
  const confirm = panel.locator('[data-testid=join-confirm]');
  t.match(await confirm.innerText(), c1.name, 'the confirm names the site');
  await confirm.locator('[data-testid=join-revoke-yes]').click();
  await panel.locator(`tr[data-link="${jti}"][data-state=revoked]`).waitFor();
  t.match(await row.innerText(), 'Đã thu hồi');
  t.equal(await row.locator('[data-testid=join-revoke]').count(), 0, 'a revoked link has no revoke button');
  const listed = await sf.api<{ items: { id: string; state: string; revokedBy: string | null }[] }>(
    'GET',
    `/api/v1/meetings/${meeting.id}/join-links`,
  );
  t.match(
    listed.items.find((l) => l.id === jti),
    { state: 'revoked' },
    'the fleet has it revoked',
  );
  const revokedPlan = await planWhere(box.client, box.deviceId, (p) =>
    (p.meetings[0]?.revokedLinks ?? []).includes(jti),
  );
  t.ok(revokedPlan, "the commune's edge is told to refuse it");

  await t.test("another district's operator: its own site only, and the fleet refuses the others", async (t) => {
    const ob = await openBrowser({ width: 1024, height: 768 });
    t.teardown(() => ob.close());
    await signIn(ob.page, sf.url, areaOp.token);
    await ob.page.goto(`${sf.url}/#/meetings/${meeting.id}`);
    const p = ob.page.locator('[data-testid=join-links]');
    await p.waitFor();
    t.same(
      await p.locator('select[name=siteId] option').evaluateAll((os) => os.map((o) => o.getAttribute('value'))),
      [c2.id],
      'only the commune in its area is offered',
    );
    t.equal(
      await p.locator('[data-testid=join-outside]').innerText(),
      vi.t('join.outside', { n: 2 }),
      'and the page says why the other two are not',
    );
    await p.locator('[data-testid=join-list], p.muted:has-text("Chưa cấp")').first().waitFor();
    t.equal(await p.locator(`tr[data-link="${jti}"]`).count(), 0, "the province's link for another area is not listed");

    // The fleet refuses a link for the commune outside its area, and the panel's words say so.
    const refused = await raw(sf.url, 'POST', `/api/v1/meetings/${meeting.id}/join-links`, areaOp.token, {
      siteId: c1.id,
    });
    t.equal(refused.status, 403);
    t.equal(refused.body.code, 'FLEET_ERR_FORBIDDEN');
    t.equal(joinLinkErrorKey(refused.body), 'join.err.scope');
    t.match(vi.t(joinLinkErrorKey(refused.body)!), 'nằm ngoài khu vực bạn phụ trách');
    // Its own commune: issued from the page.
    await p.locator('[data-testid=join-issue]').click();
    await p.locator('[data-testid=join-issued]').waitFor();
    const own = readJoinClaims(linkOf(await p.locator('[data-testid=join-url]').inputValue()))!;
    t.match(own, { meetingId: meeting.id, siteId: c2.id, role: 'participant' });
    t.equal(
      await p.locator('[data-testid=join-qr]').count(),
      0,
      'no QR code while the site has no announced join page',
    );
    t.match(await p.locator('[data-testid=join-issued]').innerText(), 'chưa báo địa chỉ');
    await p.locator(`tr[data-link="${own.jti}"][data-state=active]`).waitFor();
  });

  await t.test('a viewer sees no panel (the fleet neither issues nor lists links for it)', async (t) => {
    const vb = await openBrowser({ width: 1024, height: 768 });
    t.teardown(() => vb.close());
    await signIn(vb.page, sf.url, viewer.token);
    await vb.page.goto(`${sf.url}/#/meetings/${meeting.id}`);
    await vb.page.locator('[data-testid=meeting-stats]').waitFor();
    await waitUntil(vb.page, `document.querySelector('[data-testid=roster]') !== null`);
    t.equal(await vb.page.locator('[data-testid=join-links]').count(), 0);
    const listing = await raw(sf.url, 'GET', `/api/v1/meetings/${meeting.id}/join-links`, viewer.token);
    t.equal(listing.status, 403, 'the fleet lists none for it either');
    t.equal(joinLinkErrorKey(listing.body), 'join.err.role');
  });

  await t.test('a meeting still to come has the panel too', async (t) => {
    const later = await sf.api<{ id: string; state: string }>('POST', '/api/v1/meetings', {
      title,
      chairSiteId: d1.id,
      siteIds: [c1.id],
      startsAt: new Date(Date.now() + 90 * 60_000).toISOString(),
      durationMin: 30,
    });
    t.equal(later.state, 'scheduled');
    await page.goto(`${sf.url}/#/meetings/${later.id}`);
    const p = page.locator('[data-testid=join-links]');
    await p.waitFor();
    await p.locator('[data-testid=join-issue]').click();
    await p.locator('[data-testid=join-issued]').waitFor();
    const claims = readJoinClaims(linkOf(await p.locator('[data-testid=join-url]').inputValue()))!;
    t.match(claims, { meetingId: later.id, siteId: d1.id, role: 'participant' }, 'the chair first, as a participant');
    t.ok(claims.exp - claims.iat >= 119 * 60, 'valid 120 minutes by default (it starts in 90, so its end is later)');
  });

  await t.test('an ended meeting: no panel, and the fleet refuses a link in words the panel has', async (t) => {
    await sf.api('POST', `/api/v1/meetings/${meeting.id}/end`, {});
    const ended = await raw(sf.url, 'POST', `/api/v1/meetings/${meeting.id}/join-links`, ADMIN_TOKEN, {
      siteId: c1.id,
    });
    t.equal(ended.status, 409);
    t.equal(joinLinkErrorKey(ended.body), 'join.err.ended');
    await page.goto(`${sf.url}/#/meetings/${meeting.id}`);
    await page.reload();
    await page.locator('[data-testid=meeting-stats]').waitFor();
    t.equal(await page.locator('[data-testid=join-links]').count(), 0);
  });
  t.same(errors, [], 'no script errors');
});
