// One state per site on every page, live and after a reload, in Chromium
// against a real fleet (both datasets): a decommissioned box reads
// "decommissioned" on the grid, the wall, the alerts page and its site page,
// never "offline", "no box yet" or "all normal"; a site that never had a box,
// and one whose box went offline, read as such everywhere too.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { deviceTopic, mediaStatsCodec, type MediaStats } from '@diemcau/shared';
import { ADMIN_TOKEN, startSimFleet } from './helpers/sim-sites.js';
import { openBrowser, signIn } from './helpers/browser.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });

const stateOf = (page: Page, selector: string, siteId: string) =>
  page.getAttribute(`${selector}[data-site="${siteId}"]`, 'data-state');

for (const dataset of ['yen-bai-2022', 'yen-bai-two-tier']) {
  t.test(`states, dataset ${dataset}`, async (t) => {
    const sf = await startSimFleet({ dataset });
    t.teardown(() => sf.close());
    const { relayGroups } = await sf.api<{ relayGroups: { id: string; siteIds: string[] }[] }>(
      'GET',
      '/api/v1/hierarchy',
    );
    const ids = relayGroups[3]!.siteIds;
    const [revoked, offline, never] = [ids[1]!, ids[2]!, ids[3]!];
    await sf.online(ids.filter((id) => id !== never));

    const b = await openBrowser({ width: 1920, height: 1080 });
    t.teardown(() => b.close());
    const page = b.page;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await signIn(page, sf.url, ADMIN_TOKEN);
    await page.waitForSelector(`.tile[data-site="${revoked}"][data-state=online]`);

    // Live: the box is revoked and another one dies while the page is open.
    await sf.api('DELETE', `/api/v1/devices/${sf.devices.get(revoked)!.deviceId}`);
    sf.kill(offline);
    await page.waitForSelector(`.tile[data-site="${revoked}"][data-state=revoked]`, { timeout: 15_000 });
    await page.waitForSelector(`.tile[data-site="${offline}"][data-state=offline]`, { timeout: 15_000 });

    const expected = { [revoked]: 'revoked', [offline]: 'offline', [never]: 'nobox' };
    const everyPage = async (t: Test, when: string) => {
      await page.goto(`${sf.url}/#/`);
      for (const [id, st] of Object.entries(expected))
        t.equal(await stateOf(page, '.tile', id), st, `${when}, grid: ${st}`);
      await page.goto(`${sf.url}/#/wall`);
      await page.waitForSelector('.wcell');
      for (const [id, st] of Object.entries(expected))
        t.equal(await stateOf(page, '.wcell', id), st, `${when}, wall: ${st}`);
      await page.goto(`${sf.url}/#/alerts`);
      await page.waitForSelector('[data-testid=alert-states]');
      t.equal(
        await stateOf(page, '[data-testid=alert-states] li', revoked),
        'revoked',
        `${when}, alerts: the decommissioned site is listed`,
      );
      t.notMatch(
        await page.textContent('main'),
        /Mọi điểm cầu hoạt động bình thường/,
        `${when}, alerts: not "all normal"`,
      );
      t.equal(
        await page
          .locator('tbody[data-type=device-offline]', { hasText: sf.sites.find((s) => s.id === offline)!.name })
          .count(),
        1,
        `${when}, alerts: the offline site has its alert`,
      );
      await page.goto(`${sf.url}/#/sites/${revoked}`);
      await page.waitForSelector('[data-testid=site-revoked]');
      t.match(await page.textContent('.page-head .pill'), /Hộp đã thu hồi/, `${when}, site page: decommissioned`);
      await page.goto(`${sf.url}/#/sites/${never}`);
      await page.waitForSelector('.enrol');
      t.match(await page.textContent('.page-head .pill'), /Chưa lắp hộp/, `${when}, site page: never had a box`);
    };
    await t.test('live', (t) => everyPage(t, 'live'));
    await page.reload();
    await page.waitForSelector('.topbar');
    await t.test('after a reload', (t) => everyPage(t, 'reloaded'));

    await t.test(
      'agent down, media up: the box is offline to the fleet while its upstream still receives its room',
      async (t) => {
        const chair = sf.sites.find((s) => s.parentId === null && !relayGroups.some((g) => g.siteIds.includes(s.id)))!;
        await sf.online([chair.id]);
        const [member, other] = [ids[4]!, ids[5]!];
        const meeting = await sf.api<{ id: string }>('POST', '/api/v1/meetings', {
          title: 'Giao ban',
          chairSiteId: chair.id,
          siteIds: [member, other],
          durationMin: 60,
        });
        const detail = await sf.api<{
          cascade: { edges: { edgeId: string; localSiteId: string | null; upstreamEdgeId: string | null }[] };
        }>('GET', `/api/v1/meetings/${meeting.id}`);
        const leaf = detail.cascade.edges.find((e) => e.localSiteId === member)!;
        const relay = [...sf.devices.values()].find((d) => d.deviceId === leaf.upstreamEdgeId);
        t.ok(relay, `the site's media goes up through its group's hub box (${leaf.upstreamEdgeId})`);
        if (!relay) return;
        // The upstream box's own report, every 2 s as an edge sends it: it
        // receives the member's room over a connected link. (One report alone
        // goes stale after the fleet's 30 s, which a loaded machine can take.)
        const report = (): MediaStats => ({
          v: 1,
          edgeId: relay.deviceId,
          at: new Date().toISOString(),
          revision: 1,
          meetings: [
            {
              meetingId: meeting.id,
              role: 'relay',
              localSiteId: null,
              local: [],
              activeSpeakerSiteId: null,
              links: [
                {
                  peerEdgeId: leaf.edgeId,
                  direction: 'down',
                  state: 'connected',
                  sendBitrateBps: 900_000,
                  recvBitrateBps: 1_600_000,
                  sendStreams: 2,
                  recvStreams: 2,
                  packetsLost: 0,
                  lossRate: 0,
                  jitterMs: 4,
                  rttMs: 12,
                },
              ],
            },
          ],
        });
        const publish = () =>
          relay.client.publishAsync(deviceTopic(relay.deviceId, 'media-stats'), mediaStatsCodec.encode(report()), {
            qos: 1,
          });
        await publish();
        const reporting = setInterval(() => void publish().catch(() => undefined), 2000);
        t.teardown(() => clearInterval(reporting));
        await page.goto(`${sf.url}/#/`);
        await page.waitForSelector(`.tile[data-site="${member}"][data-state=meeting]`, { timeout: 15_000 });
        sf.kill(member);
        await page.waitForSelector(`.tile[data-site="${member}"][data-state=media-only]`, { timeout: 45_000 });
        t.pass('grid: agent down, media up');
        await page.reload();
        await page.waitForSelector(`.tile[data-site="${member}"][data-state=media-only]`, { timeout: 45_000 });
        t.pass('the same after a reload');
        await page.goto(`${sf.url}/#/wall`);
        t.equal(await stateOf(page, '.wcell', member), 'media-only', 'wall');
        await page.goto(`${sf.url}/#/alerts`);
        await page.waitForSelector('[data-testid=alert-states]');
        t.equal(await stateOf(page, '[data-testid=alert-states] li', member), 'media-only', 'alerts page');
      },
    );
    t.same(errors, [], 'no script errors');
  });
}
