// The README's settings tables are generated (npm run docs:settings): this
// fails when they differ from what the schemas say, e.g. a setting added, a
// default changed or a description reworded without regenerating.
import fs from 'node:fs';
import t from 'tap';
import { README, renderSettings, TABLES } from '../docs-settings.js';

t.test('the README settings tables are what npm run docs:settings writes', async (t) => {
  const readme = fs.readFileSync(README, 'utf8');
  const expected = renderSettings(readme);
  t.equal(readme, expected, 'README.md differs from the schemas: run `npm run docs:settings`');
});

t.test('the tables hold every program and section', async (t) => {
  for (const name of ['fleet', 'agent', 'edge', 'provisioning']) t.ok(TABLES[name], name);
  const fleet = TABLES.fleet!();
  for (const v of ['DIEMCAU_HTTP_PORT', 'DIEMCAU_CORE_SIGNAL_URL', 'DIEMCAU_OTA_TRUSTED_KEYS', 'DIEMCAU_UI_DIR'])
    t.match(fleet, `\`${v}\``);
  const agent = TABLES.agent!();
  for (const v of [
    'DIEMCAU_FLEET_URL',
    'DIEMCAU_OTA_HEALTH_TIMEOUT_SEC',
    'DIEMCAU_EDGE_URL',
    'DIEMCAU_FFMPEG_BIN',
    'DIEMCAU_BOOTSTRAP_DIRS',
  ])
    t.match(agent, `\`${v}\``);
  t.match(agent, '(formerly `DIEMCAU_FFMPEG`)');
  t.match(TABLES.edge!(), '(formerly `LOG_LEVEL`)');
  for (const v of ['DIEMCAU_OPERATOR_TOKEN', 'DIEMCAU_RELEASE_KEY', 'DIEMCAU_FLEET_TOKEN'])
    t.match(TABLES.provisioning!(), `\`${v}\``);
});

t.test('rendering touches only what lies between the markers', async (t) => {
  const text =
    'intro\n<!-- settings:fleet:start (npm run docs:settings) -->\nold\n<!-- settings:fleet:end -->\nmiddle\n' +
    '<!-- settings:agent:start (npm run docs:settings) -->\n<!-- settings:agent:end -->\n' +
    '<!-- settings:edge:start (npm run docs:settings) -->\n<!-- settings:edge:end -->\n' +
    '<!-- settings:provisioning:start (npm run docs:settings) -->\n<!-- settings:provisioning:end -->\noutro\n';
  const out = renderSettings(text);
  t.match(out, /^intro\n/);
  t.match(out, /\nmiddle\n/);
  t.match(out, /\noutro\n$/);
  t.notMatch(out, /\nold\n/);
  t.throws(() => renderSettings('no markers'), /markers for the fleet settings are missing/);
});
