import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import t from 'tap';
import { createHardware } from '../../src/devices/index.js';
import { writeKioskLink } from '../../src/media/kiosk-link.js';
import { BOX_STATES, STATE_TEXT, boxState, ledPatternFor, type BoxState } from '../../src/status/box-status.js';
import { hasDefaultRoute } from '../../src/status/network.js';
import { launchChromium, spawnEdge, tempDir, until } from '../media/helpers.js';

// What the box says about itself, on the TV and the status LED: enrolling,
// online, no network, updating, a failed update rolled back. The page is the
// real kiosk page served by a real edge process and read by real Chromium;
// the agent's side is the real link writer the agent runs, driving the
// simulated GPIO's LED. `npm run screenshots` saves one picture per state.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const silent = pino({ level: 'silent' });
const identity = {
  v: 1,
  deviceId: 'd-states',
  siteId: 'xa-an-binh',
  siteName: 'UBND xã An Bình',
  mqtt: { url: 'mqtt://x', username: 'd-states', password: 'secret' },
};
const at = (): string => new Date().toISOString();
const ota = (state: string, extra: object = {}) => ({ state, current: '1.4.0', target: '1.5.0', at: at(), ...extra });

/** The files the agent leaves for the page in each state (identity: enrolled; link: its last word). */
const SCENES: Record<Exclude<BoxState, 'starting'>, { enrolled: boolean; link: object | null; vi: RegExp }> = {
  enrolling: { enrolled: false, link: null, vi: /chưa được đăng ký/ },
  connecting: { enrolled: true, link: null, vi: /Đang kết nối/ },
  online: { enrolled: true, link: { connected: true, network: true, ota: null }, vi: /Sẵn sàng/ },
  'no-network': { enrolled: true, link: { connected: false, network: false, ota: null }, vi: /Không có mạng/ },
  offline: { enrolled: true, link: { connected: false, network: true, ota: null }, vi: /Mất kết nối với trung tâm/ },
  updating: {
    enrolled: true,
    link: { connected: true, network: true, ota: ota('downloading', { progress: { bytes: 42, total: 100 } }) },
    vi: /Đang cập nhật phần mềm \(phiên bản 1\.5\.0, 42 %\)/,
  },
  'rolled-back': {
    enrolled: true,
    link: { connected: true, network: true, ota: ota('rolled-back') },
    vi: /1\.5\.0 bị lỗi nên thiết bị đã quay lại phiên bản 1\.4\.0/,
  },
  'update-failed': {
    enrolled: true,
    link: { connected: true, network: true, ota: ota('failed') },
    vi: /Không cài được bản cập nhật 1\.5\.0/,
  },
};

t.test('the state: the most urgent fact wins', async (t) => {
  const now = Date.parse('2026-12-03T08:00:00Z');
  const base = { enrolled: true, connected: true, network: true, ota: null, now };
  const o = (state: 'downloading' | 'rolled-back' | 'failed' | 'committed', ago = 0) => ({
    state,
    current: '1.4.0',
    target: '1.5.0',
    at: new Date(now - ago).toISOString(),
  });
  t.equal(boxState(base), 'online');
  t.equal(boxState({ ...base, enrolled: false, connected: null }), 'enrolling');
  t.equal(boxState({ ...base, enrolled: false, connected: null, network: false }), 'no-network');
  t.equal(boxState({ ...base, connected: false, network: false }), 'no-network', 'no cable is said before no fleet');
  t.equal(boxState({ ...base, connected: false }), 'offline');
  t.equal(boxState({ ...base, connected: null }), 'connecting');
  t.equal(boxState({ ...base, connected: false, ota: o('downloading') }), 'updating', 'do not unplug comes first');
  t.equal(boxState({ ...base, ota: o('rolled-back') }), 'rolled-back');
  t.equal(boxState({ ...base, ota: o('failed') }), 'update-failed');
  t.equal(boxState({ ...base, ota: o('rolled-back', 25 * 3600_000) }), 'online', 'the notice ends after a day');
  t.equal(boxState({ ...base, connected: false, ota: o('rolled-back') }), 'offline', 'a lost link outranks the notice');
  t.equal(boxState({ ...base, ota: o('committed') }), 'online');
  // Every state has both sentences, and the LED a distinct rhythm where the clerk must act differently.
  for (const s of BOX_STATES) t.ok(STATE_TEXT[s].vi && STATE_TEXT[s].en, `${s}: Vietnamese and English`);
  t.same(
    Object.fromEntries(BOX_STATES.map((s) => [s, ledPatternFor(s, true)])),
    {
      starting: 'enrolling',
      enrolling: 'enrolling',
      connecting: 'offline',
      online: 'online',
      'no-network': 'offline',
      offline: 'offline',
      updating: 'updating',
      'rolled-back': 'notice',
      'update-failed': 'notice',
    },
    'LED pattern per state',
  );
  t.equal(ledPatternFor('online', false), 'error', 'online with a broken camera still blinks error');
  t.equal(ledPatternFor('rolled-back', false), 'error', 'a broken camera outranks the notice of a failed update');
});

t.test('no network: a default route in procfs, or none', async (t) => {
  const proc = tempDir('diemcau-proc-');
  t.teardown(() => fs.rmSync(proc, { recursive: true, force: true }));
  t.equal(hasDefaultRoute(proc), null, 'no procfs: not known');
  fs.mkdirSync(path.join(proc, 'net'));
  const head = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n';
  fs.writeFileSync(
    path.join(proc, 'net', 'route'),
    `${head}enp1s0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n`,
  );
  t.equal(hasDefaultRoute(proc), false, 'a link route only: no network');
  fs.appendFileSync(
    path.join(proc, 'net', 'route'),
    'enp1s0\t00000000\t0202000A\t0003\t0\t0\t1024\t00000000\t0\t0\t0\n',
  );
  t.equal(hasDefaultRoute(proc), true, 'a default route: network');
});

t.test('the agent side drives the simulated status LED through the same states', async (t) => {
  const hw = await createHardware({ kind: 'simulated', log: silent });
  t.teardown(() => hw.close());
  const session = new EventEmitter();
  let network = true;
  const kioskDir = tempDir('diemcau-led-');
  t.teardown(() => fs.rmSync(kioskDir, { recursive: true, force: true }));
  const states: BoxState[] = [];
  const link = writeKioskLink({
    dir: kioskDir,
    session,
    connected: false,
    log: silent,
    network: () => network,
    pollMs: 20,
    onState: (s) => {
      states.push(s);
      hw.gpio.setLed(ledPatternFor(s, true));
    },
  });
  t.teardown(link);
  const led = () => hw.gpio.health().led;
  t.equal(led(), 'offline', 'not connected yet: the offline blink');
  session.emit('connected');
  t.equal(led(), 'online', 'online: steady');
  network = false;
  await until('no network', async () => states.at(-1) === 'no-network', 5000);
  t.equal(led(), 'offline');
  network = true;
  await until('network back', async () => states.at(-1) === 'online', 5000);
  link.setOta({ state: 'downloading', current: '1.4.0', target: '1.5.0', at: at() });
  t.equal(led(), 'updating', 'updating: the fast blink');
  link.setOta({ state: 'rolled-back', current: '1.4.0', target: '1.5.0', at: at() });
  t.equal(led(), 'notice', 'rolled back: lit with a short dark beat (the box works)');
  const file = JSON.parse(fs.readFileSync(path.join(kioskDir, 'link.json'), 'utf8')) as Record<string, unknown>;
  t.match(file, { v: 1, connected: true, network: true, ota: { state: 'rolled-back', target: '1.5.0' } });
  t.same(states, ['offline', 'online', 'no-network', 'online', 'updating', 'rolled-back']);
});

t.test('the kiosk page says each state, in Vietnamese and English', async (t) => {
  const dataDir = tempDir('diemcau-states-');
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const kioskDir = path.join(dataDir, 'kiosk');
  fs.mkdirSync(kioskDir);
  const edge = await spawnEdge({ edgeId: 'd-states', hardware: 'simulated', env: { DIEMCAU_DATA_DIR: dataDir } });
  t.teardown(() => edge.kill());
  const { page } = await launchChromium(t, []);
  await page.setViewportSize({ width: 1280, height: 720 });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${edge.url}/kiosk`);
  for (const [state, scene] of Object.entries(SCENES) as [BoxState, (typeof SCENES)['online']][]) {
    const idFile = path.join(dataDir, 'identity.json');
    if (scene.enrolled) fs.writeFileSync(idFile, JSON.stringify(identity));
    else fs.rmSync(idFile, { force: true });
    const linkFile = path.join(kioskDir, 'link.json');
    if (scene.link) fs.writeFileSync(linkFile, JSON.stringify({ v: 1, at: at(), ...scene.link }));
    else fs.rmSync(linkFile, { force: true });
    await until(
      `page in state ${state}`,
      async () => (await page.locator('body').getAttribute('data-state')) === state,
    );
    const vi = await page.locator('#vi').innerText();
    const en = await page.locator('#en').innerText();
    t.match(vi, scene.vi, `${state}: ${vi}`);
    t.ok(en.length > 0 && en !== vi, `${state}: English under it (${en})`);
    t.notMatch(vi, /\{|undefined/, `${state}: every blank filled`);
    if (process.env['DIEMCAU_SCREENSHOTS'] === '1') {
      const dir = path.join(root, 'docs', 'screenshots');
      fs.mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: path.join(dir, `kiosk-state-${state}.png`) });
    }
  }
  t.same(errors, [], 'no page errors');
});
