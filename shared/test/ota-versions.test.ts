// Version order and the downgrade rule shared by the fleet and every box:
// semantic versioning's precedence (semver.org 2.0.0, section 11), versions
// spelled one way only, and a downgrade allowed only by a signed rollback.
import t from 'tap';
import { compareVersions, downgradeRefusal, releaseManifestCodec, type ReleaseManifest } from '../src/ota.js';

t.test('precedence follows semver 2.0.0 section 11', async (t) => {
  // The specification's own example, in ascending order, plus numeric fields past 9.
  const ascending = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.0.1',
    '1.2.0',
    '1.10.0',
    '2.0.0-rc.9',
    '2.0.0-rc.10',
    '2.0.0',
    '10.0.0',
  ];
  for (let i = 0; i < ascending.length; i++) {
    for (let j = 0; j < ascending.length; j++) {
      const want = Math.sign(i - j);
      const got = compareVersions(ascending[i]!, ascending[j]!);
      if (got !== want) t.fail(`${ascending[i]} vs ${ascending[j]}: got ${got}, want ${want}`);
    }
  }
  t.pass(`${ascending.length ** 2} pairs ordered`);
});

t.test('a version has one spelling: leading zeros are refused by the schema', async (t) => {
  const base: ReleaseManifest = {
    v: 1,
    version: '1.2.0',
    artifact: 'a.tar.gz',
    sha256: 'a'.repeat(64),
    size: 1,
    unpackedSize: 1,
    minAgentVersion: '0.1.0',
    created: '2026-01-01T00:00:00Z',
    entry: 'agent.mjs',
    native: [],
  };
  t.ok(releaseManifestCodec.check(base).ok);
  // 1.02.0 would sort equal to 1.2.0 under another name: a second release "of the same version".
  for (const v of ['1.02.0', '01.2.0', '1.2.00', '1.2.0-01', '1.2', '1.2.0+build', 'v1.2.0']) {
    t.notOk(releaseManifestCodec.check({ ...base, version: v }).ok, `${v} refused`);
  }
  t.ok(releaseManifestCodec.check({ ...base, version: '1.2.0-rc.1' }).ok, 'pre-releases allowed');
  t.ok(
    releaseManifestCodec.check({ ...base, allowDowngradeFrom: ['1.3.0'] }).ok,
    'a rollback names the versions it may replace',
  );
  t.notOk(releaseManifestCodec.check({ ...base, allowDowngradeFrom: [] }).ok, 'an empty rollback list is refused');
});

t.test('downgrade rule', async (t) => {
  const m = (version: string, allowDowngradeFrom?: string[]): ReleaseManifest => ({
    v: 1,
    version,
    artifact: 'a.tar.gz',
    sha256: 'a'.repeat(64),
    size: 1,
    unpackedSize: 1,
    minAgentVersion: '0.1.0',
    created: '2026-01-01T00:00:00Z',
    entry: 'agent.mjs',
    native: [],
    ...(allowDowngradeFrom ? { allowDowngradeFrom } : {}),
  });
  t.equal(downgradeRefusal(m('1.2.0'), '1.1.0'), null, 'an upgrade');
  t.equal(downgradeRefusal(m('1.2.0'), null), null, 'a box that does not say what it runs decides for itself');
  t.match(downgradeRefusal(m('1.1.0'), '1.2.0'), /1\.1\.0 is older than 1\.2\.0.*not a signed rollback/);
  t.match(downgradeRefusal(m('1.9.0'), '1.10.0'), /older/, 'numeric, not text, comparison');
  t.match(downgradeRefusal(m('1.0.0-rc.1'), '1.0.0'), /older/, 'a pre-release is older than its release');
  t.equal(
    downgradeRefusal(m('1.1.0', ['1.3.0', '1.2.0']), '1.2.0'),
    null,
    'a signed rollback from the version the box runs',
  );
  t.match(
    downgradeRefusal(m('1.1.0', ['1.3.0']), '1.2.0'),
    /rollback covers only 1\.3\.0/,
    'a rollback is not a licence to replace every newer version',
  );
  // A box rolled back from 1.3.0 to 1.1.1: neither 1.3.0 nor 1.2.0 may come back by replay.
  t.match(
    downgradeRefusal(m('1.3.0'), '1.1.1', '1.3.0'),
    /not newer than 1\.3\.0, which this box ran before it was rolled back to 1\.1\.1/,
  );
  t.match(downgradeRefusal(m('1.2.0'), '1.1.1', '1.3.0'), /not newer than 1\.3\.0/);
  t.equal(downgradeRefusal(m('1.3.1'), '1.1.1', '1.3.0'), null, 'a newer release moves it on');
  t.equal(
    downgradeRefusal(m('1.0.0', ['1.1.1']), '1.1.1', '1.3.0'),
    null,
    'as does another rollback signed from where it stands',
  );
  t.equal(downgradeRefusal(m('1.2.0'), '1.1.1', '1.1.1'), null, 'highest no higher than current: the plain rule');
});
