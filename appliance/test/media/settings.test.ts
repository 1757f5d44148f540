// The edge's settings through the shared loader: one log-level name for every
// program (DIEMCAU_LOG_LEVEL; LOG_LEVEL read for one release with a warning),
// every variable documented in the table the README is written from.
import t from 'tap';
import { edgeSettingsTable, loadEdgeSettings } from '../../src/media/config.js';

const base = { DIEMCAU_EDGE_ID: 'e1', DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(20) };

t.test('LOG_LEVEL still works for a release, with a warning naming DIEMCAU_LOG_LEVEL', async (t) => {
  const old = loadEdgeSettings({ ...base, LOG_LEVEL: 'warn' });
  t.equal(old.config.logLevel, 'warn');
  t.match(old.warnings.join('\n'), /LOG_LEVEL is deprecated: use DIEMCAU_LOG_LEVEL/);
  const both = loadEdgeSettings({ ...base, LOG_LEVEL: 'warn', DIEMCAU_LOG_LEVEL: 'debug' });
  t.equal(both.config.logLevel, 'debug', 'the new name wins');
  const plain = loadEdgeSettings({ ...base, DIEMCAU_LOG_LEVEL: 'error' });
  t.equal(plain.config.logLevel, 'error');
  t.same(plain.warnings, []);
});

t.test('every bad or missing value in one error', async (t) => {
  let message = '';
  try {
    loadEdgeSettings({ DIEMCAU_EDGE_PORT: 'x', DIEMCAU_EDGE_MAX_PEERS: '0' });
  } catch (err) {
    message = (err as Error).message;
  }
  for (const v of ['DIEMCAU_EDGE_ID', 'DIEMCAU_EDGE_ADMIN_TOKEN', 'DIEMCAU_EDGE_PORT', 'DIEMCAU_EDGE_MAX_PEERS'])
    t.match(message, v);
});

t.test('the table names every variable, with the ffmpeg name the agent shares', async (t) => {
  const table = edgeSettingsTable();
  for (const v of [
    'DIEMCAU_EDGE_ID',
    'DIEMCAU_EDGE_ADMIN_TOKEN',
    'DIEMCAU_FFMPEG_BIN',
    'DIEMCAU_EDGE_MAX_CONNECTIONS_PER_ADDRESS',
  ])
    t.match(table, `\`${v}\``);
  t.match(table, '| `DIEMCAU_LOG_LEVEL` | `info` | pino log level (formerly `LOG_LEVEL`) |');
});
