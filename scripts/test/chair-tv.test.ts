// The chair's console drives the rooms' TVs, end to end: the demo's fleet, its
// real agents and mediasoup edges with simulated cameras and microphones, the
// dashboard and a commune's TV page in Debian's Chromium. The chair's operator,
// on a 1024×768 tablet, sees the roster in words, mutes all, gives the floor to
// one commune and then to another commune that pressed its help button, and runs a
// roll call; the commune's TV follows each step (names on the pictures, the
// floor marked, the chair's mute written on the screen). During the roll call
// the console shows the called room live (its picture moving, in its own
// colour band) and switches as the chair steps; an operator who may see the
// meeting but not chair it gets no picture. Screenshots of the console and of
// the TV are written by `npm run screenshots`.
import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import type { Frame, Page } from 'playwright-core';
import { deviceEventCodec, deviceTopic } from '@diemcau/shared';
import { siteColour } from '../../appliance/src/media/ffmpeg/args.js';
import { sameColour } from '../../appliance/test/media/receiver.js';
import { openBrowser, screenshot, signIn } from '../../fleet/test/ui/helpers/browser.js';
import { startDemo } from './demo-run.js';

interface SiteRow {
  id: string;
  name: string;
  parentId: string | null;
}
interface Watch {
  siteId: string | null;
  status: string;
  frames: number;
}
interface Shown {
  time: number;
  w: number;
  band: [number, number, number];
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
    const siteRows = (await api<{ items: SiteRow[] }>('/api/v1/sites')).items;
    const names = new Map(siteRows.map((s) => [s.id, s.name]));
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

    // Roll call: one site on every TV, stepping through the roster; the console shows the called room live.
    await page.click('[data-testid=roll-call-start]');
    const first = await page.locator('[data-testid=roll-call-site]').innerText();
    const firstId = [...names].find(([, n]) => n === first)![0];
    if (firstId !== tv.siteId)
      await tvUntil(`roll call of ${first}`, (l) => l.large.length === 1 && l.large[0] === firstId);
    await seesLive(t, page, firstId, first);
    await screenshot(page, 'chair-roll-call', true);
    await page.click('[data-testid=roll-call-next]');
    await page.locator('[data-testid=roll-call-site]', { hasNotText: first }).waitFor();
    const second = await page.locator('[data-testid=roll-call-site]').innerText();
    await seesLive(t, page, [...names].find(([, n]) => n === second)![0], second);

    // An operator of the hub's district sees the meeting (its sites are in it) but does not chair it: no picture.
    const hubDistrict = siteRows.find((s) => s.id === rooms[1])!;
    const districtId = hubDistrict.parentId ?? hubDistrict.id;
    const other = await post<{ token: string }>('/api/v1/operators', {
      name: 'district officer',
      role: 'district-operator',
      districtId,
    });
    const refused = await fetch(`${base}/api/v1/meetings/${meetingId}/roll-call/picture`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other.token}` },
    });
    t.equal(refused.status, 403, "another area's operator gets no picture link");
    const officer = await openBrowser({ width: 1024, height: 768 });
    t.teardown(() => officer.close());
    await signIn(officer.page, base, other.token);
    await officer.page.goto(`${base}/#/meetings/${meetingId}`);
    const denied = officer.page.locator('[data-testid=room-live-picture][data-status=forbidden]');
    await denied.waitFor({ timeout: 30_000 });
    t.match(await denied.innerText(), /không được xem hình/, 'and is told so, in Vietnamese');
    t.equal(await officer.page.locator('iframe').count(), 0, 'with no frame on its page');
    await officer.close();

    // Stopping the roll call removes the picture (its page leaves the chair's edge as it goes).
    await page.click('[data-testid=roll-call-stop]');
    await page.locator('[data-testid=roll-call-start]').waitFor();
    t.equal(await page.locator('iframe').count(), 0, 'the picture goes with the roll call');

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

/**
 * Waits until the console shows `siteId` live: the page framed from the chair's
 * edge receives it, its frames and playback time move, its band is the site's
 * colour, and the console says so in words.
 */
async function seesLive(t: Test, page: Page, siteId: string, name: string): Promise<void> {
  const end = Date.now() + 90_000;
  let watch: Watch | undefined;
  let frame: Frame | undefined;
  while (Date.now() < end) {
    frame = page.frames().find((f) => f.url().includes('/media/v1/join?link='));
    watch = (await frame?.evaluate('window.diemcau && window.diemcau.watch').catch(() => undefined)) as
      Watch | undefined;
    if (frame && watch?.siteId === siteId && watch.status === 'receiving' && watch.frames > 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!frame || watch?.siteId !== siteId)
    throw new Error(`the console never received ${siteId}: ${JSON.stringify(watch)}`);
  const shown = (): Promise<Shown | null> =>
    frame.evaluate(`(() => {
      const v = document.getElementById('watch');
      if (!v || v.hidden || !v.videoWidth) return null;
      const c = document.createElement('canvas');
      c.width = v.videoWidth; c.height = v.videoHeight;
      const g = c.getContext('2d');
      g.drawImage(v, 0, 0);
      const d = g.getImageData(Math.floor(c.width / 2), Math.floor(c.height * 0.93), 1, 1).data;
      return { time: v.currentTime, w: v.videoWidth, band: [d[0], d[1], d[2]] };
    })()`) as Promise<Shown | null>;
  let a: Shown | null = null;
  while (Date.now() < end && !(a = await shown())) await new Promise((r) => setTimeout(r, 250));
  const framesA = watch.frames;
  await new Promise((r) => setTimeout(r, 1500));
  const b = await shown();
  const later = (await frame.evaluate('window.diemcau.watch')) as Watch;
  t.ok(
    a && b && b.time > a.time,
    `${name}'s picture plays on the console (${a?.time.toFixed(1)} → ${b?.time.toFixed(1)} s)`,
  );
  t.ok(later.frames > framesA, `and its frames move (${framesA} → ${later.frames})`);
  t.ok(b && sameColour(b.band, siteColour(siteId)), `its band ${b?.band.join(',')} is ${name}'s colour`);
  await page.locator('[data-testid=room-live-picture][data-status=playing]').waitFor({ timeout: 30_000 });
  t.match(
    await page.locator('[data-testid=room-live-picture] figcaption').innerText(),
    `Đang xem trực tiếp ${name}`,
    'the console says it is live',
  );
}
