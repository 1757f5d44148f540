import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import t from 'tap';
import { writeKioskLink } from '../../src/media/kiosk-link.js';
import { launchChromium, spawnEdge, tempDir, token, until } from './helpers.js';

// The box's kiosk page in real Chromium, served by a real edge process: the
// enrolment state before a meeting, the identify card while it lasts, and the
// join page's kiosk view once the plan has a live meeting.

t.test('kiosk page: not enrolled, enrolled, identify card, live meeting', async (t) => {
  const dataDir = tempDir('diemcau-kiosk-');
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const edge = await spawnEdge({ edgeId: 'd-kiosk', hardware: 'simulated', env: { DIEMCAU_DATA_DIR: dataDir } });
  t.teardown(() => edge.kill());

  const { page } = await launchChromium(t, ['--autoplay-policy=no-user-gesture-required']);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${edge.url}/kiosk`);

  const text = (sel: string): Promise<string> => page.locator(sel).innerText();
  const visible = (sel: string): Promise<boolean> => page.locator(sel).isVisible();

  await until('not-enrolled message', async () => (await text('#vi')).includes('chưa được đăng ký'));
  t.match(await text('#en'), /not enrolled/);

  // The agent enrols: its identity file appears in the data dir.
  fs.writeFileSync(
    path.join(dataDir, 'identity.json'),
    JSON.stringify({
      v: 1,
      deviceId: 'd-kiosk',
      siteId: 'xa-an-binh',
      siteName: 'UBND xã An Bình',
      mqtt: { url: 'mqtt://x', username: 'd-kiosk', password: 'secret' },
    }),
  );
  await until('site name', async () => (await text('#site')) === 'UBND xã An Bình');
  t.match(await text('#vi'), /Đang kết nối/);
  t.notMatch(await page.content(), /secret/, 'identity secrets never reach the page');

  // The identify command's card.
  const kioskDir = path.join(dataDir, 'kiosk');
  fs.mkdirSync(kioskDir);
  const until15s = new Date(Date.now() + 15_000).toISOString();
  fs.writeFileSync(
    path.join(kioskDir, 'identify.json'),
    JSON.stringify({
      v: 1,
      siteName: 'UBND xã An Bình',
      code: '4827',
      ms: 15000,
      shownAt: new Date().toISOString(),
      until: until15s,
    }),
  );
  await until('identify card', async () => (await visible('#card')) && (await text('#cardCode')) === '4827');
  // An expired card is not shown.
  fs.writeFileSync(
    path.join(kioskDir, 'identify.json'),
    JSON.stringify({
      v: 1,
      siteName: 'x',
      code: '4827',
      ms: 1,
      shownAt: new Date(0).toISOString(),
      until: new Date(1).toISOString(),
    }),
  );
  await until('card gone', async () => !(await visible('#card')));

  // The agent's link state, as it writes it.
  fs.writeFileSync(
    path.join(kioskDir, 'link.json'),
    JSON.stringify({ v: 1, connected: false, at: new Date().toISOString() }),
  );
  await until('offline message', async () => (await text('#en')).includes('No connection to the fleet'));
  writeKioskLink({ dir: kioskDir, session: new EventEmitter(), connected: true, log: pino({ level: 'silent' }) });
  await until('ready message', async () => (await text('#vi')).includes('Sẵn sàng'));

  // A live meeting in the plan: the TV shows the join page's kiosk view.
  await edge.plan({
    v: 1,
    revision: 1,
    edgeId: 'd-kiosk',
    meetings: [
      {
        meetingId: 'm-tv',
        title: 'giao ban',
        role: 'host',
        upstream: null,
        acceptToken: token(),
        localSiteId: 'xa-an-binh',
        chairSiteId: 'xa-an-binh',
        floorSiteId: null,
        rollCallSiteId: null,
        mutedAll: false,
        state: 'live',
      },
    ],
  });
  const src = await until('meeting iframe', async () =>
    (await visible('#meeting')) ? page.locator('#meeting').getAttribute('src') : null,
  );
  t.match(src, /\/media\/v1\/join\?meeting=m-tv&token=[^&]+&view=kiosk$/);
  t.notOk(await visible('#idle'));
  const frame = page.frameLocator('#meeting');
  await until('join page loaded in the frame', async () => (await frame.locator('body').count()) > 0);

  // Meeting over: back to the site's idle screen.
  await edge.plan({ v: 1, revision: 2, edgeId: 'd-kiosk', meetings: [] });
  await until('idle again', async () => (await visible('#idle')) && !(await visible('#meeting')));
  t.match(await text('#vi'), /Sẵn sàng/);
  t.same(errors, []);
});

t.test('a site edge with no DIEMCAU_EDGE_ID takes the device id once the agent has enrolled', async (t) => {
  const dataDir = tempDir('diemcau-kiosk-id-');
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const before = await spawnEdge({ edgeId: 'ignored', env: { DIEMCAU_EDGE_ID: '', DIEMCAU_DATA_DIR: dataDir } });
  t.teardown(() => before.kill());
  t.equal((await before.stats()).edgeId, 'unenrolled');
  const exited = new Promise<number | null>((r) => before.proc.once('exit', (code) => r(code)));
  fs.writeFileSync(
    path.join(dataDir, 'identity.json'),
    JSON.stringify({ v: 1, deviceId: 'd-enrolled-1', siteId: 'xa-b', siteName: 'Xã B' }),
  );
  t.equal(await exited, 0, 'exits so systemd restarts it under its device id');
  const after = await spawnEdge({ edgeId: 'ignored', env: { DIEMCAU_EDGE_ID: '', DIEMCAU_DATA_DIR: dataDir } });
  t.teardown(() => after.kill());
  t.equal((await after.stats()).edgeId, 'd-enrolled-1');
});
