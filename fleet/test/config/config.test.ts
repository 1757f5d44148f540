import t from 'tap';
import { configTable, ENV_NAMES, loadConfig, loadFleetSettings } from '../../src/config.js';

t.test('defaults fill in what is not set', async (t) => {
  const c = loadConfig({});
  t.equal(c.httpPort, 8080);
  t.equal(c.mqttPort, 1883);
  t.equal(c.host, '0.0.0.0');
  t.equal(c.dataDir, './data');
  t.equal(c.logLevel, 'info');
  t.equal(c.adminToken, undefined);
});

t.test('environment strings are read and converted; port 0 is allowed', async (t) => {
  const c = loadFleetSettings({
    DIEMCAU_HTTP_PORT: '0',
    DIEMCAU_MQTT_PORT: '0',
    DIEMCAU_HOST: '127.0.0.1',
    DIEMCAU_DATA_DIR: '/var/lib/x',
    DIEMCAU_OFFLINE_DEBOUNCE_MS: '',
    DIEMCAU_LOG_LEVEL: 'warn',
    DIEMCAU_MEETING_PLAN_LEAD_MIN: '5',
    DIEMCAU_OTA_DISTRICT_CACHES: 'false',
    DIEMCAU_UI_DIR: '/srv/ui',
  }).settings;
  t.equal(c.httpPort, 0);
  t.equal(c.mqttPort, 0);
  t.equal(c.host, '127.0.0.1');
  t.equal(c.dataDir, '/var/lib/x');
  t.equal(c.offlineDebounceMs, 300, 'empty string counts as unset');
  t.equal(c.logLevel, 'warn');
  t.equal(c.meetings.planLeadMin, 5, 'sections read their variables too');
  t.equal(c.ota.districtCaches, false);
  t.equal(c.ui.buildDir, '/srv/ui');
  t.equal(c.meetings.maxSitesPerMeeting, 210, 'and default the rest');
});

t.test('every problem is listed at once, with its variable name', async (t) => {
  try {
    loadFleetSettings({
      DIEMCAU_HTTP_PORT: 'eighty',
      DIEMCAU_MQTT_PORT: '70000',
      DIEMCAU_WEBHOOK_URL: 'ftp://x',
      DIEMCAU_ADMIN_TOKEN: 'short',
      DIEMCAU_MEETING_MAX_SITES: '1',
      DIEMCAU_OTA_TICK_MS: 'soon',
      DIEMCAU_OTA_PUBLIC_URL: 'fleet.local',
    });
    t.fail('should throw');
  } catch (err) {
    const e = err as { code: string; details: { problems: string[] } };
    t.equal(e.code, 'FLEET_ERR_CONFIG');
    const text = e.details.problems.join('\n');
    t.equal(e.details.problems.length, 7, text);
    for (const name of ['DIEMCAU_HTTP_PORT', 'DIEMCAU_MQTT_PORT', 'DIEMCAU_WEBHOOK_URL', 'DIEMCAU_ADMIN_TOKEN'])
      t.match(text, name);
    t.match(text, /meetings\.maxSitesPerMeeting \(DIEMCAU_MEETING_MAX_SITES\)/);
    t.match(text, /ota\.tickMs \(DIEMCAU_OTA_TICK_MS\)/);
    t.match(text, /ota\.publicUrl \(DIEMCAU_OTA_PUBLIC_URL\)/);
  }
  t.throws(() => loadConfig({ nonsense: 1 } as never), { code: 'FLEET_ERR_CONFIG' }, 'unknown settings are refused');
});

t.test('the README table comes from the schema: every variable, its default', async (t) => {
  const table = configTable();
  for (const name of Object.values(ENV_NAMES)) t.match(table, `\`${name}\``);
  t.match(table, '| `DIEMCAU_HTTP_PORT` | `8080` |');
  for (const name of [
    'DIEMCAU_CORE_SIGNAL_URL',
    'DIEMCAU_MEETING_MAX_SITES',
    'DIEMCAU_OTA_TRUSTED_KEYS',
    'DIEMCAU_UI_DIR',
  ])
    t.match(table, `\`${name}\``);
});
