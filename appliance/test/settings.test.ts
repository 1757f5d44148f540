// The agent's one settings tree: every section (devices, edge, OTA, bootstrap,
// outlets) read and checked together, before anything starts or enrols.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runToExit } from '../../shared/test/helpers/program.js';
import { loadAgentSettings } from '../src/config.js';

t.test('every section at once: one error lists the top level, OTA, edge and hardware problems', async (t) => {
  try {
    loadAgentSettings({
      env: {
        DIEMCAU_KEEPALIVE_SEC: '1',
        DIEMCAU_OTA_HEALTH_TIMEOUT_SEC: '1',
        DIEMCAU_OTA_CACHE_PORT: 'district',
        DIEMCAU_EDGE_URL: 'edge.local:7443',
        DIEMCAU_GPIO_LED: 'seventeen',
        DIEMCAU_SIM_FAULTS: 'camera-black,camera-on-fire',
      },
    });
    t.fail('should throw');
  } catch (err) {
    const e = err as { code: string; details: { problems: string[] } };
    t.equal(e.code, 'APPL_ERR_CONFIG');
    const text = e.details.problems.join('\n');
    t.equal(e.details.problems.length, 6, text);
    for (const name of [
      'DIEMCAU_KEEPALIVE_SEC',
      'DIEMCAU_OTA_HEALTH_TIMEOUT_SEC',
      'DIEMCAU_OTA_CACHE_PORT',
      'DIEMCAU_EDGE_URL',
      'DIEMCAU_GPIO_LED',
      'DIEMCAU_SIM_FAULTS',
    ]) {
      t.match(text, name);
    }
    t.match(text, /camera-on-fire/);
  }
});

t.test('sections default, and a JSON file may set them nested', async (t) => {
  const { config } = loadAgentSettings({
    env: { DIEMCAU_DATA_DIR: '/srv/box' },
    file: { ota: { cachePort: 8081 }, edge: { mode: 'none' } },
  });
  t.equal(config.ota.cachePort, 8081);
  t.equal(config.ota.root, '/opt/diemcau');
  t.equal(config.edge.mode, 'none');
  t.same(config.bootstrap.dirs, ['/boot', '/boot/firmware', '/etc/diemcau']);
  t.equal(config.outlets.mediaUnit, 'diemcau-edge.service');
});

t.test('DIEMCAU_FFMPEG is read for one release, with a warning naming DIEMCAU_FFMPEG_BIN', async (t) => {
  const old = loadAgentSettings({ env: { DIEMCAU_FFMPEG: '/opt/old/ffmpeg' } });
  t.equal(old.config.devices.ffmpeg, '/opt/old/ffmpeg');
  t.match(old.warnings.join('\n'), /DIEMCAU_FFMPEG is deprecated: use DIEMCAU_FFMPEG_BIN/);
  const both = loadAgentSettings({ env: { DIEMCAU_FFMPEG: '/opt/old/ffmpeg', DIEMCAU_FFMPEG_BIN: '/opt/new/ffmpeg' } });
  t.equal(both.config.devices.ffmpeg, '/opt/new/ffmpeg');
  t.same(loadAgentSettings({ env: {} }).warnings, []);
});

t.test('the agent program stops at start, before enrolling, listing a bad OTA value and a bad edge URL', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-agent-settings-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { code, stderr } = await runToExit(t, 'appliance/src/main.ts', {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DIEMCAU_HARDWARE: 'simulated',
    DIEMCAU_DATA_DIR: dir,
    // Nothing listens there: an agent that got as far as enrolling would retry forever.
    DIEMCAU_FLEET_URL: 'http://127.0.0.1:9',
    DIEMCAU_ENROLL_TOKEN: 'token-never-used-0123',
    DIEMCAU_OTA_HEALTH_TIMEOUT_SEC: 'soon',
    DIEMCAU_EDGE_URL: 'edge.local',
  });
  t.equal(code, 2, `exits with the configuration code\n${stderr}`);
  t.match(stderr, /invalid configuration/);
  t.match(stderr, /ota\.healthTimeoutSec \(DIEMCAU_OTA_HEALTH_TIMEOUT_SEC\)/);
  t.match(stderr, /edge\.url \(DIEMCAU_EDGE_URL\)/);
  t.notOk(fs.existsSync(path.join(dir, 'identity.json')), 'no identity: it never enrolled');
});
