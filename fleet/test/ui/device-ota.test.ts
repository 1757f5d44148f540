// The device page in Chromium shows why a box refused a release: it lacks
// Debian packages the release's worker links (APPL_ERR_OTA_REQUIREMENTS, as
// the box's updater reports it over MQTT), named on the page.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { deviceTopic, type OtaStatus } from '@diemcau/shared';
import { ADMIN_TOKEN, startSimFleet } from './helpers/sim-sites.js';
import { openBrowser, signIn } from './helpers/browser.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
execFileSync(process.execPath, [path.join(root, 'fleet', 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });

const sf = await startSimFleet();
t.teardown(() => sf.close());
const site = sf.sites.find((s) => s.parentId !== null)!;
await sf.online([site.id]);
const dev = sf.devices.get(site.id)!;
const browser = await openBrowser();
t.teardown(() => browser.close());
const page = browser.page;
await signIn(page, sf.url, ADMIN_TOKEN);

t.test('a refusal for missing packages names them on the device page', async (t) => {
  await page.goto(`${sf.url}/#/devices/${dev.deviceId}`);
  await page.waitForSelector('[data-ota-state=none]');
  t.pass('no report yet: said so');
  const status: OtaStatus = {
    v: 1,
    at: new Date().toISOString(),
    state: 'failed',
    current: '0.1.0',
    target: '2.0.0',
    error: {
      code: 'APPL_ERR_OTA_REQUIREMENTS',
      message: 'release 2.0.0 needs what this box lacks: libsrtp2-1 not installed; libssl3 3.0.11-1 older than 3.0.22',
      unmet: [
        { kind: 'debian', name: 'libsrtp2-1', need: '2.5.0', have: null },
        { kind: 'debian', name: 'libssl3', need: '3.0.22', have: '3.0.11-1' },
      ],
    },
  };
  await dev.client.publishAsync(deviceTopic(dev.deviceId, 'ota'), JSON.stringify(status), { qos: 1 });
  const unmet = page.locator('[data-ota-unmet]');
  for (let i = 0; i < 50 && (await unmet.count()) === 0; i++) {
    await page.reload();
    await page.waitForSelector('[data-ota-state]');
  }
  const text = (await unmet.textContent()) ?? '';
  t.match(text, /2\.0\.0/, 'names the release');
  t.match(text, /libsrtp2-1, libssl3 3\.0\.11-1 < 3\.0\.22/, 'names the missing and the too old package');
  t.equal(await page.getAttribute('[data-ota-state]', 'data-ota-state'), 'failed');
});
