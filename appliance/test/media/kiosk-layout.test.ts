// The TV's layout in real Chromium at 1920×1080, with real edges: the TV's box
// hosts the meeting and four other rooms link to it, each with a simulated
// camera and microphone (two of them speak). The chair's controls in the plan
// bring one, two, three and four large pictures (the chair, the floor and the
// two rooms heard last), then a roll call with thumbnails; in each, every
// picture and caption stays on screen and carries its site's name. The browser
// blocks sound until a click, and says so; the identify card during the meeting
// sits in a corner. Screenshots of each layout are written by `npm run screenshots`.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { MediaMeeting } from '@diemcau/shared';
import {
  launchChromium,
  node,
  plansFor,
  root,
  spawnEdge,
  tempDir,
  until,
  type EdgeProc,
  type Node,
} from './helpers.js';

const M = 'm-tv-layout';
const NAMES: Record<string, string> = {
  'tv-room': 'UBND xã Trạm Tấu',
  chair: 'Ủy ban nhân dân tỉnh Yên Bái',
  floor: 'Huyện Văn Chấn',
  s1: 'UBND xã Nghĩa Sơn có tên rất dài để thử chú thích',
  s2: 'Phường Nguyễn Thái Học',
};

interface View {
  large: string[];
  small: string[];
  floorSiteId: string | null;
  rollCallSiteId: string | null;
  speakerSiteId: string | null;
}
interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

t.test('the TV lays out 1 to 4 large pictures and thumbnails without running off screen', async (t) => {
  const dataDir = tempDir('diemcau-tv-layout-');
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  fs.writeFileSync(
    path.join(dataDir, 'identity.json'),
    JSON.stringify({ v: 1, deviceId: 'tv', siteId: 'tv-room', siteName: NAMES['tv-room'] }),
  );
  const edges: EdgeProc[] = [];
  t.teardown(async () => {
    await Promise.all(edges.map((e) => e.kill()));
  });
  const spawn = async (edgeId: string, voice: 'tone' | 'silent', env: Record<string, string> = {}) => {
    const e = await spawnEdge({ edgeId, hardware: 'simulated', env: { DIEMCAU_EDGE_SIM_VOICE: voice, ...env } });
    edges.push(e);
    return e;
  };
  const host = node(await spawn('tv', 'silent', { DIEMCAU_DATA_DIR: dataDir }), 'tv-room', null);
  const rooms: Node[] = [
    host,
    node(await spawn('e-chair', 'silent'), 'chair', host),
    node(await spawn('e-floor', 'silent'), 'floor', host),
  ];
  let revision = 0;
  const apply = async (extra: Partial<MediaMeeting>) => {
    revision += 1;
    for (const [n, p] of plansFor(M, rooms, 'chair', revision, {
      title: 'Giao ban trực tuyến tháng 12',
      siteNames: NAMES,
      ...extra,
    }))
      await n.edge.plan(p);
  };
  // Mute all: only the chair's and the floor's microphones are open, so the floor decides who speaks.
  await apply({ mutedAll: true });
  const arrived = (n: number) =>
    until(
      `${n} rooms at the TV's box`,
      // From the roster: a room not shown and not speaking sends no stream to the TV's box.
      async () => ((await host.edge.roster(M)).length === n ? true : null),
      90_000,
    );
  await arrived(3);

  // Sound is blocked until someone clicks the screen, as a desktop browser does by default.
  // Debian's headless Chromium does not enforce that policy (measured: with
  // --autoplay-policy=document-user-activation-required an AudioContext runs and an
  // unmuted play() resolves), so the page gets the browser's rule itself: an unmuted
  // play() is refused with NotAllowedError until the screen has been clicked or a key pressed.
  const { page } = await launchChromium(t, []);
  await page.addInitScript(`(() => {
    let activated = false;
    const activate = () => { activated = true; };
    addEventListener('pointerdown', activate, true);
    addEventListener('keydown', activate, true);
    window.__autoplayRule = true;
    const play = HTMLMediaElement.prototype.play;
    HTMLMediaElement.prototype.play = function () {
      if (!this.muted && !activated) return Promise.reject(new DOMException('play() failed because the user did not interact with the document first', 'NotAllowedError'));
      return play.call(this);
    };
  })()`);
  await page.setViewportSize({ width: 1920, height: 1080 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // The TV's meeting view, as the kiosk page frames it (the frame itself is checked with the identify card below).
  await page.goto(
    `${host.edge.url}/media/v1/join?meeting=${M}&token=${encodeURIComponent(host.edge.joinToken)}&view=kiosk`,
  );
  const frame = page.mainFrame();
  const blocked = frame.locator('#blocked');
  await blocked.waitFor({ state: 'visible', timeout: 60_000 }).catch(async (err: unknown) => {
    const s = await frame.evaluate(
      'JSON.stringify({ rule: window.__autoplayRule, error: window.diemcau?.error, joined: window.diemcau?.joined, layout: window.diemcau?.layout, consumed: Object.values(window.diemcau?.consumed ?? {}).map((c) => c.kind + ":" + c.siteId), audio: [...document.querySelectorAll("audio")].map((a) => a.muted + "/" + a.paused) })',
    );
    throw new Error(`${String(err)}; TV state ${s}; page errors ${errors.join('; ')}`);
  });
  t.match(
    await blocked.innerText(),
    /Trình duyệt đang chặn phát âm thanh/,
    'the TV says sound is blocked, in Vietnamese',
  );
  await shot(page, 'tv-sound-blocked');
  await page.mouse.click(960, 540);
  await blocked.waitFor({ state: 'hidden' });
  t.pass('a click on the screen plays the sound and the message goes');

  const view = () => frame.evaluate('window.diemcau && window.diemcau.layout') as Promise<View | undefined>;
  /** Waits for the layout, then for every large picture to show frames. */
  const layoutOf = async (what: string, ok: (v: View) => boolean): Promise<View> => {
    let seen: View | undefined;
    const v = await until(
      what,
      async () => {
        seen = await view();
        return seen && ok(seen) ? seen : null;
      },
      90_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; the TV's last layout: ${JSON.stringify(seen)}`);
    });
    await until(`${what}: pictures`, async () =>
      frame.evaluate(
        `[...document.querySelectorAll('#stage video')].length === ${v.large.length} && [...document.querySelectorAll('#stage video')].every((v) => v.videoWidth > 0)`,
      ),
    );
    return v;
  };
  const onScreen = async (what: string, v: View) => {
    const boxes =
      (await frame.evaluate(`[...document.querySelectorAll('#kiosk .tile, #kiosk figcaption, #kiosk .more, #bar')].filter((e) => e.offsetParent !== null)
      .map((e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; })`)) as Box[];
    const off = boxes.filter((b) => b.x < 0 || b.y < 0 || b.x + b.width > 1920.5 || b.y + b.height > 1080.5);
    t.same(off, [], `${what}: nothing runs off the 1920×1080 screen`);
    const scroll = (await frame.evaluate(
      '[document.documentElement.scrollWidth, document.documentElement.scrollHeight]',
    )) as number[];
    t.same(scroll, [1920, 1080], `${what}: no scrolling`);
    const large = (await frame.evaluate(
      `[...document.querySelectorAll('#stage .tile')].map((e) => ({ site: e.dataset.siteId, name: e.querySelector('.name').textContent }))`,
    )) as Array<{ site: string; name: string }>;
    t.same(
      large,
      v.large.map((s) => ({ site: s, name: NAMES[s] })),
      `${what}: every large picture named`,
    );
    // Every thumbnail of the layout in the strip, named: a stream announced anew reaches the
    // page at its next poll for streams, so the strip is waited for (bounded), then compared.
    const names = () => frame.locator('#strip .tile .name').allInnerTexts();
    const want = v.small.map((s) => NAMES[s]);
    const small = await until(`${what}: thumbnails`, async () => {
      const got = await names();
      return got.join('|') === want.join('|') ? got : null;
    }).catch(names);
    t.same(small, want, `${what}: every thumbnail named`);
  };

  const one = await layoutOf('the chair alone', (v) => v.large.length === 1 && v.large[0] === 'chair');
  await onScreen('one large', one);
  t.equal(await frame.locator('#title').innerText(), 'Giao ban trực tuyến tháng 12', "the meeting's title");
  t.match(
    await frame.locator('#notice').innerText(),
    /Micrô phòng này đang tắt/,
    'the room is told its microphone is closed',
  );
  await shot(page, 'tv-1');

  // The rooms that speak join one at a time, so the order of the recent speakers is known.
  rooms.push(node(await spawn('e-s1', 'tone'), 's1', host));
  await apply({ mutedAll: true, floorSiteId: 's1' });
  await arrived(4);
  // The host's speaker observer hears the floor: it becomes the most recent speaker.
  const two = await layoutOf(
    'the chair and the floor, heard speaking',
    (v) => v.large.join() === 'chair,s1' && v.speakerSiteId === 's1',
  );
  await onScreen('two large', two);
  await shot(page, 'tv-2');

  rooms.push(node(await spawn('e-s2', 'tone'), 's2', host));
  await apply({ mutedAll: true, floorSiteId: 's2' });
  await arrived(5);
  // The floor is heard and named speaker before it passes on: s2 and s1 are then the recent speakers.
  const three = await layoutOf(
    'the chair, the floor heard speaking and the last speaker',
    (v) => v.large.join() === 'chair,s2,s1' && v.speakerSiteId === 's2',
  );
  await onScreen('three large', three);
  t.equal(
    await frame.locator('#stage .tile[data-site-id="s2"] .tag').innerText(),
    'Được phát biểu',
    'the floor is marked',
  );
  await shot(page, 'tv-3');

  // Four: the floor passes to a room that has not spoken. Every other microphone closes, and
  // the open ones (the chair's and the floor's) are silent: the host's observer may choose one
  // of them, but a room is named speaker only once it is heard (speaker-gate.ts), so the two
  // rooms heard last stay the recent speakers.
  await apply({ mutedAll: true, floorSiteId: 'floor' });
  const four = await layoutOf(
    'the chair, the floor and the two last speakers',
    (v) => v.large.join() === 'chair,floor,s2,s1',
  );
  await onScreen('four large', four);
  await shot(page, 'tv-4');

  // The roll call: s1 large for everyone; the chair, the floor and the other recent speaker
  // (s2) are the thumbnails, each in the strip with its name.
  await apply({ mutedAll: false, floorSiteId: 'floor', rollCallSiteId: 's1' });
  const roll = await layoutOf(
    'the roll call',
    (v) => v.large.join() === 's1' && [...v.small].sort().join() === 'chair,floor,s2',
  );
  await onScreen('roll call with thumbnails', roll);
  t.match(
    await frame.locator('#notice').innerText(),
    new RegExp(`Điểm danh: ${NAMES['s1']}`),
    'the roll call is named on the screen',
  );

  // The identify command during the meeting: on the kiosk page, a corner card; the pictures stay visible.
  const kioskDir = path.join(dataDir, 'kiosk');
  fs.mkdirSync(kioskDir, { recursive: true });
  fs.writeFileSync(
    path.join(kioskDir, 'identify.json'),
    JSON.stringify({
      v: 1,
      siteName: NAMES['tv-room'],
      code: '4827',
      until: new Date(Date.now() + 120_000).toISOString(),
    }),
  );
  await page.goto(`${host.edge.url}/kiosk`);
  await page.locator('#meeting:not([hidden])').waitFor({ timeout: 60_000 });
  const card = page.locator('#card.corner');
  await card.waitFor({ state: 'visible', timeout: 30_000 });
  const tv = await until(
    'the meeting in the kiosk frame',
    async () => page.frames().find((f) => f.url().includes('/media/v1/join')) ?? null,
  );
  await until('the roll call in the kiosk frame', async () =>
    tv.evaluate(`[...document.querySelectorAll('#stage video')].some((v) => v.videoWidth > 0)`),
  );
  const box = (await card.boundingBox())!;
  t.ok(
    box.width * box.height < 0.12 * 1920 * 1080,
    `the card covers ${Math.round((100 * box.width * box.height) / (1920 * 1080))} % of the screen`,
  );
  t.ok(box.x > 960 && box.x + box.width <= 1920 && box.y + box.height <= 1080, 'in the right-hand corner, on screen');
  t.equal(await page.locator('#cardCode').innerText(), '4827');
  await shot(page, 'tv-rollcall-identify');
  t.same(errors, []);
});

/** Screenshots only for `npm run screenshots` (DIEMCAU_SCREENSHOTS=1), like the dashboard's. */
async function shot(page: import('playwright-core').Page, name: string): Promise<void> {
  if (process.env['DIEMCAU_SCREENSHOTS'] !== '1') return;
  const dir = path.join(root, 'docs', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}
