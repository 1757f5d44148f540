// An emergency rollback is built on purpose: release:build --rollback-from
// names the exact newer versions the release may replace, and the names go
// inside the signed manifest (no way to add them afterwards). Mistakes are
// refused before anything is built or signed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { downgradeRefusal, verifyManifest, type TrustedKey } from '@diemcau/shared';
import { parseRollbackFrom } from '../../src/release/build.js';
import { packageRelease } from '../../src/release/package.js';
import { generateReleaseKey, readSigningKey } from '../../src/release/keys.js';
import { releaseBuildCli } from './build-cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-rollback-test-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const key = generateReleaseKey(path.join(dir, 'keys'));
const trusted = JSON.parse(fs.readFileSync(key.trustedKeysFile, 'utf8')) as TrustedKey[];
const signing = readSigningKey(key.privateKeyFile);

t.test('the versions a rollback may replace: newer than the release, well formed', async (t) => {
  t.same(parseRollbackFrom('1.3.0, 1.3.1', '1.1.0'), ['1.3.0', '1.3.1']);
  t.equal(parseRollbackFrom(undefined, '1.1.0'), undefined, 'no flag: an ordinary release');
  t.throws(
    () => parseRollbackFrom('1.0.0', '1.1.0'),
    /1\.0\.0 is not newer than 1\.1\.0/,
    'a rollback goes back, never forward',
  );
  t.throws(() => parseRollbackFrom('1.1.0', '1.1.0'), /not newer/);
  t.throws(() => parseRollbackFrom('1.03.0', '1.1.0'), /not a version/);
  t.throws(() => parseRollbackFrom(' , ', '1.1.0'), /at least one version/);
});

t.test('the list is signed into the manifest', async (t) => {
  const staging = fs.mkdtempSync(path.join(dir, 'staging-'));
  fs.writeFileSync(path.join(staging, 'agent.mjs'), 'console.log("1.1.0")\n');
  const r = packageRelease({
    stagingDir: staging,
    outDir: path.join(dir, 'out'),
    version: '1.1.0',
    minAgentVersion: '0.1.0',
    native: [],
    entry: 'agent.mjs',
    created: new Date('2026-05-01T00:00:00Z'),
    keyId: signing.keyId,
    privateKeyPem: signing.privateKeyPem,
    allowDowngradeFrom: ['1.3.0'],
  });
  const m = verifyManifest(r.signed, trusted);
  t.same(m.allowDowngradeFrom, ['1.3.0'], 'inside the signed payload');
  t.equal(downgradeRefusal(m, '1.3.0'), null, 'a box on 1.3.0 may take it');
  t.match(downgradeRefusal(m, '1.2.0'), /covers only 1\.3\.0/, 'a box on 1.2.0 may not');
  const stripped = { ...r.signed, payload: r.signed.payload.replace(/,"allowDowngradeFrom":\[[^\]]*\]/, '') };
  t.not(stripped.payload, r.signed.payload);
  t.throws(() => verifyManifest(stripped, trusted), { code: 'APPL_ERR_OTA_SIGNATURE' }, 'nor can it be edited out');
});

t.test('the CLI refuses a bad --rollback-from before building', async (t) => {
  const r = releaseBuildCli([
    '--key',
    key.privateKeyFile,
    '--version',
    '1.1.0',
    '--rollback-from',
    '1.0.0',
    '--out',
    path.join(dir, 'cli-out'),
  ]);
  t.equal(r.status, 2, `exit 2: ${r.stderr}`);
  t.match(r.stderr, /--rollback-from: 1\.0\.0 is not newer than 1\.1\.0/);
  t.notOk(fs.existsSync(path.join(dir, 'cli-out')), 'nothing built');
});
