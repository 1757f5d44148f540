// The provisioning tools read their settings once, in their entry files,
// through the shared loader: a bad value stops the tool with every problem
// named, before it contacts a fleet or writes a file.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadProvisioningSettings } from '../src/settings.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

t.test('the variables fill the tree; defaults where unset', async (t) => {
  const s = loadProvisioningSettings({
    DIEMCAU_FLEET_URL: 'https://fleet.example:8443',
    DIEMCAU_OPERATOR_TOKEN: 'op-token',
    DIEMCAU_RELEASE_OUT: '/tmp/rel',
  });
  t.equal(s.fleetUrl, 'https://fleet.example:8443');
  t.equal(s.operatorToken, 'op-token');
  t.equal(s.releaseOut, '/tmp/rel');
  t.equal(s.releaseKeyDir, 'release-keys');
  t.equal(s.caFile, undefined);
});

t.test('a bad value is refused under its variable', async (t) => {
  t.throws(() => loadProvisioningSettings({ DIEMCAU_FLEET_URL: 'ftp://fleet' }), {
    code: 'PROV_ERR_CONFIG',
    message: /DIEMCAU_FLEET_URL/,
  });
});

t.test('npm run provision stops on a bad DIEMCAU_FLEET_URL and says so', async (t) => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(repo, 'provisioning/src/main.ts'), 'token', 'yb-xa-a'],
    {
      env: { ...process.env, DIEMCAU_FLEET_URL: 'ftp://fleet', DIEMCAU_OPERATOR_TOKEN: 'x' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  t.equal(r.status, 1);
  t.match(r.stderr, /provision: .*DIEMCAU_FLEET_URL/);
});
