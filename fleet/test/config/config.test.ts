import t from 'tap';
import { configFromEnv, configTable, ENV_NAMES, loadConfig } from '../../src/config.js';

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
  const c = loadConfig(
    configFromEnv({ DIEMCAU_HTTP_PORT: '0', DIEMCAU_MQTT_PORT: '0', DIEMCAU_HOST: '127.0.0.1', DIEMCAU_DATA_DIR: '/var/lib/x', DIEMCAU_OFFLINE_DEBOUNCE_MS: '', DIEMCAU_LOG_LEVEL: 'warn' }),
  );
  t.equal(c.httpPort, 0);
  t.equal(c.mqttPort, 0);
  t.equal(c.host, '127.0.0.1');
  t.equal(c.dataDir, '/var/lib/x');
  t.equal(c.offlineDebounceMs, 300, 'empty string counts as unset');
  t.equal(c.logLevel, 'warn');
});

t.test('every problem is listed at once, with its variable name', async (t) => {
  try {
    loadConfig(configFromEnv({ DIEMCAU_HTTP_PORT: 'eighty', DIEMCAU_MQTT_PORT: '70000', DIEMCAU_WEBHOOK_URL: 'ftp://x', DIEMCAU_ADMIN_TOKEN: 'short' }));
    t.fail('should throw');
  } catch (err) {
    const e = err as { code: string; details: string[] };
    t.equal(e.code, 'FLEET_ERR_CONFIG');
    const text = e.details.join('\n');
    for (const name of ['DIEMCAU_HTTP_PORT', 'DIEMCAU_MQTT_PORT', 'DIEMCAU_WEBHOOK_URL', 'DIEMCAU_ADMIN_TOKEN']) t.match(text, name);
  }
  t.throws(() => loadConfig({ nonsense: 1 } as never), { code: 'FLEET_ERR_CONFIG' }, 'unknown settings are refused');
});

t.test('the README table comes from the schema: every variable, its default', async (t) => {
  const table = configTable();
  for (const name of Object.values(ENV_NAMES)) t.match(table, `\`${name}\``);
  t.match(table, '| `DIEMCAU_HTTP_PORT` | `8080` |');
});
