// The chair's console drives the rooms' TVs, end to end: the demo's fleet, its
// real agents and mediasoup edges with simulated cameras and microphones, the
// dashboard and a commune's TV page in Debian's Chromium. The chair's operator,
// on a 1024×768 tablet, sees the roster in words, mutes all, gives the floor to
// one commune and then to another commune that pressed its help button, and runs a
// roll call; the commune's TV follows each step (names on the pictures, the
// floor marked, the chair's mute written on the screen). Screenshots of the
// console and of the TV are written by `npm run screenshots`.
import mqtt from 'mqtt';
import t from 'tap';
import { deviceEventCodec, deviceTopic } from '@diemcau/shared';
import { openBrowser, screenshot, signIn } from '../../fleet/test/ui/helpers/browser.js';
import { startDemo } from './demo-run.js';

interface SiteRow {
  id: string;
  name: string;
}
interface Detail {
  siteIds: string[];
  chairSiteId: string;
  mutedAll: boolean;
  floorSiteId: string | null;
  requests: { siteId: string }[];
}
interface TvLayout {
  large: string[];
  small: string[];
  self: string | null;
  mutedAll: boolean;
  floorSiteId: string | null;
}

t.test(
  'the chair mutes all, gives the floor, grants a request to speak and calls the roll; the TVs follow',
  async (t) => {
    const demo = await startDemo(t, 6);
    const ready = await demo.until('Ctrl-C stops everything');
    if (!ready) return void t.fail(`the demo did not come up: ${demo.output().slice(-3000)}`);
    t.match(demo.output(), /media: 4\/4 rooms sending/, 'every room sends media');
    const token = /admin token: (\S+)/.exec(demo.output())![1]!;
    const meetingId = /#\/meetings\/(\S+)/.exec(demo.output())![1]!;
    const base = `http://127.0.0.1:${demo.http}`;
    const api = async <T>(p: string): Promise<T> =>
      (await (await fetch(base + p, { headers: { authorization: `Bearer ${token}` } })).json()) as T;
    const names = new Map((await api<{ items: SiteRow[] }>('/api/v1/sites')).items.map((s) => [s.id, s.name]));
    const meeting = await api<Detail>(`/api/v1/meetings/${meetingId}`);
    // demo-media.ts: the chair, a relay group's hub, and two sites behind it, on the core's next ports in that order.
    const rooms = [meeting.chairSiteId, ...meeting.siteIds.filter((s) => s !== meeting.chairSiteId)];
    t.equal(rooms.length, 4);
    const tvs = await Promise.all(
      [1, 2, 3, 4].map(async (i) => {
        const url = `http://127.0.0.1:${demo.edge + i}`;
        const state = (await (await fetch(`${url}/kiosk/state`)).json()) as { site: { siteId: string } | null };
        return { url, siteId: state.site?.siteId ?? '' };
      }),
    );
    const tv = tvs[3]!; // the second commune behind the hub
    const [floorA, floorB] = rooms.filter((s) => s !== meeting.chairSiteId && s !== tv.siteId).slice(-2) as [
      string,
      string,
    ];

    // The commune's TV, as its kiosk browser shows it.
    const screen = await openBrowser({ width: 1920, height: 1080 });
    t.teardown(() => screen.close());
    await screen.page.goto(`${tv.url}/kiosk`);
    const tvFrame = async () => {
      await screen.page.locator('#meeting:not([hidden])').waitFor({ timeout: 60_000 });
      const f = screen.page.frames().find((x) => x.url().includes('/media/v1/join'));
      if (!f) throw new Error('no meeting frame on the TV');
      return f;
    };
    const frame = await tvFrame();
    const tvLayout = () => frame.evaluate('window.diemcau && window.diemcau.layout') as Promise<TvLayout | undefined>;
    const tvUntil = async (what: string, ok: (l: TvLayout) => boolean): Promise<TvLayout> => {
      const end = Date.now() + 60_000;
      let last: TvLayout | undefined;
      while (Date.now() < end) {
        last = await tvLayout();
        if (last && ok(last)) return last;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`the TV never showed ${what}; last layout ${JSON.stringify(last)}`);
    };

    // The chair's operator on a tablet.
    const tablet = await openBrowser({ width: 1024, height: 768 });
    t.teardown(() => tablet.close());
    const page = tablet.page;
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await signIn(page, base, token);
    await page.goto(`${base}/#/meetings/${meetingId}`);
    await page.locator('[data-testid=chair-console]').waitFor();
    await page.waitForFunction(
      `document.querySelectorAll('[data-testid=roster] [data-link=in-meeting]').length === 4`,
      undefined,
      { timeout: 60_000 },
    );
    t.pass('every room reads "in the meeting" in words');
    t.notMatch(await page.locator('[data-testid=roster]').innerText(), /connected/i, 'no raw link states');
    t.equal((await page.locator('.chair-group').count()) >= 2, true, "the roster comes in the hierarchy's groups");
    const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    t.ok(width <= 1024, `the console fits the tablet's width (${width} px)`);

    // Mute all: the console says so, and the commune's TV tells its room.
    await page.click('[data-testid=mute-all]');
    await page.locator('[data-testid=mute-all][aria-pressed=true]').waitFor();
    await page.locator(`[data-site="${tv.siteId}"] [data-testid=room-muted]`).waitFor();
    await tvUntil('mute all', (l) => l.mutedAll);
    t.match(
      await frame.locator('#notice').innerText(),
      /Micrô phòng này đang tắt/,
      'the TV says its microphone is closed by the chair',
    );

    // The floor to one commune: large on the TV, named and marked.
    await page.click(`[data-testid=roster] [data-site="${floorA}"] [data-testid=give-floor]`);
    await page.locator('[data-testid=chair-floor]', { hasText: names.get(floorA)! }).waitFor();
    await tvUntil(`${floorA} large with the floor`, (l) => l.floorSiteId === floorA && l.large.includes(floorA));
    const tile = frame.locator(`#stage .tile[data-site-id="${floorA}"]`);
    await tile.locator('.tag', { hasText: 'Được phát biểu' }).waitFor();
    t.equal(await tile.locator('.name').innerText(), names.get(floorA), "the picture carries the site's name");
    t.equal(await frame.locator('#title').innerText(), 'Giao ban trực tuyến (demo)', "the meeting's title on the TV");
    // The floor's camera now crosses the links (it is featured): wait for its picture before the screenshot.
    await frame.waitForFunction(
      `(() => { const v = document.querySelector('#stage .tile[data-site-id="${floorA}"] video'); return v && v.videoWidth > 0; })()`,
      undefined,
      { timeout: 60_000 },
    );
    await screenshot(screen.page, 'tv-floor');

    // Another room presses its help button: a second box enrolled at that site (the
    // demo's media box keeps its own session) sends the event with its own credentials.
    const post = async <T>(p: string, body: unknown, auth = true): Promise<T> =>
      (await (
        await fetch(base + p, {
          method: 'POST',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
        })
      ).json()) as T;
    const enrolToken = (
      await post<{ token: string }>(`/api/v1/sites/${encodeURIComponent(floorB)}/enrollment-tokens`, { uses: 1 })
    ).token;
    const identity = await post<{ deviceId: string; mqtt: { url: string; username: string; password: string } }>(
      '/api/v1/enroll',
      { token: enrolToken, hardware: { serial: 'chair-tv-button-box' } },
      false,
    );
    const box = await mqtt.connectAsync(identity.mqtt.url, {
      username: identity.mqtt.username,
      password: identity.mqtt.password,
      clientId: identity.deviceId,
      reconnectPeriod: 0,
    });
    t.teardown(() => box.endAsync());
    await box.publishAsync(
      deviceTopic(identity.deviceId, 'events'),
      deviceEventCodec.encode({
        v: 1,
        kind: 'help-requested',
        id: `press-${Date.now()}`,
        at: new Date().toISOString(),
        source: 'button',
      }),
      { qos: 1 },
    );
    const request = page.locator(`[data-testid=requests] li[data-site="${floorB}"]`);
    await request.waitFor({ timeout: 30_000 });
    t.match(await request.innerText(), names.get(floorB)!, "the request is shown with the site's name");
    await screenshot(page, 'chair-console');
    await request.locator('[data-testid=grant]').click();
    await request.waitFor({ state: 'detached' });
    await tvUntil(`${floorB} large with the floor`, (l) => l.floorSiteId === floorB && l.large.includes(floorB));
    t.same((await api<Detail>(`/api/v1/meetings/${meetingId}`)).requests, [], 'granted: no request left');

    // Roll call: one site on every TV, stepping through the roster.
    await page.click('[data-testid=roll-call-start]');
    const first = await page.locator('[data-testid=roll-call-site]').innerText();
    const firstId = [...names].find(([, n]) => n === first)![0];
    if (firstId !== tv.siteId)
      await tvUntil(`roll call of ${first}`, (l) => l.large.length === 1 && l.large[0] === firstId);
    await page.click('[data-testid=roll-call-next]');
    await page.locator('[data-testid=roll-call-site]', { hasNotText: first }).waitFor();
    await page.click('[data-testid=roll-call-stop]');
    await page.locator('[data-testid=roll-call-start]').waitFor();

    // Unmute and take the floor back: the TV's notice goes.
    await page.click('[data-testid=mute-all]');
    await tvUntil('unmuted', (l) => !l.mutedAll);
    await page.click('[data-testid=take-floor]');
    await tvUntil('no floor', (l) => l.floorSiteId === null);
    t.equal(await frame.locator('#notice').innerText(), '', 'no notice on the TV');

    // End: the TV goes back to its idle screen.
    await page.click('[data-testid=end-meeting]');
    await page.click('[data-testid=end-confirm]');
    await screen.page.locator('#idle:not([hidden])').waitFor({ timeout: 60_000 });
    t.match(await screen.page.locator('#vi').innerText(), /chưa có cuộc họp/, 'the TV says there is no meeting');
    t.same(pageErrors, [], 'no script error on the console');

    demo.demo.kill('SIGINT');
    t.equal(await demo.exited, 0, 'the demo stops cleanly');
  },
);
