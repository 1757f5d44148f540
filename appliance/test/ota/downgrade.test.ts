// The box keeps its own version rule, whatever the fleet says: a real box
// process (the updater as systemd runs it) on 1.1.0 is handed validly signed
// releases that would take it back. It refuses an older release before
// downloading a byte and reports why; it takes an emergency rollback only
// when the release manager signed one from the version it runs; a rollback
// flag added after signing breaks the signature; and another build under the
// version it runs is never installed over it.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import type { ReleaseManifest } from '@diemcau/shared';
import {
  boxHealth,
  buildArtifact,
  desiredFor,
  makeBox,
  makeKeys,
  readOutbox,
  runBox,
  startOrigin,
  tmpDir,
  type Artifact,
} from './harness.js';

t.setTimeout(300_000);
const dir = tmpDir('diemcau-ota-downgrade-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const keys = makeKeys();
const running = buildArtifact(dir, '1.1.0');
const older = buildArtifact(dir, '1.0.0');
fs.mkdirSync(path.join(dir, 'rebuilt'));
const rebuilt = buildArtifact(path.join(dir, 'rebuilt'), '1.1.0'); // same number, other bytes
const origin = await startOrigin();
t.teardown(() => origin.close());
origin.add(older);

const rollback = (a: Artifact, from: string[]): Artifact => ({
  ...a,
  manifest: { ...a.manifest, allowDowngradeFrom: from } satisfies ReleaseManifest,
});
const runWith = async (name: string, desired: unknown) => {
  origin.bytesSent.clear();
  const box = makeBox(dir, name, running, [keys.trusted]);
  fs.writeFileSync(box.desiredFile, JSON.stringify(desired));
  await runBox(box, origin.url);
  const last = readOutbox(box)
    .filter((r) => r.durable)
    .at(-1);
  return {
    box,
    health: boxHealth(box),
    last,
    code: (last?.error as { code?: string } | undefined)?.code,
    message: (last?.error as { message?: string } | undefined)?.message,
  };
};

t.test('an older signed release is refused, nothing downloaded, the reason reported', async (t) => {
  const r = await runWith('older', desiredFor(older, keys, [origin.artifactUrl('1.0.0')], { rolloutId: 'r-old' }));
  t.equal(r.health.version, '1.1.0', 'still on 1.1.0');
  t.ok(r.health.working);
  t.match(
    r.last,
    { state: 'failed', target: '1.0.0', current: '1.1.0', rolloutId: 'r-old' },
    'the refusal reaches the fleet as the outcome',
  );
  t.equal(r.code, 'APPL_ERR_OTA_DOWNGRADE');
  t.match(r.message, /1\.0\.0 is older than 1\.1\.0 and is not a signed rollback/);
  t.equal(origin.bytesSent.get('1.0.0') ?? 0, 0, 'refused before the download');
  t.notOk(fs.existsSync(path.join(r.box.root, 'versions', '1.0.0')), 'nothing installed');
});

t.test('a rollback signed from another version is refused too', async (t) => {
  const r = await runWith(
    'other-rollback',
    desiredFor(rollback(older, ['1.2.0']), keys, [origin.artifactUrl('1.0.0')]),
  );
  t.equal(r.health.version, '1.1.0');
  t.equal(r.code, 'APPL_ERR_OTA_DOWNGRADE');
  t.match(r.message, /rollback covers only 1\.2\.0/);
});

t.test('a rollback flag added without signing again breaks the signature', async (t) => {
  const d = desiredFor(older, keys, [origin.artifactUrl('1.0.0')]);
  const payload = JSON.stringify({ ...(JSON.parse(d.manifest.payload) as object), allowDowngradeFrom: ['1.1.0'] });
  const r = await runWith('forged-rollback', { ...d, manifest: { ...d.manifest, payload } });
  t.equal(r.health.version, '1.1.0');
  t.equal(r.code, 'APPL_ERR_OTA_SIGNATURE');
  // Nor does the flag count anywhere outside the signed payload.
  const r2 = await runWith('flag-outside', {
    ...desiredFor(older, keys, [origin.artifactUrl('1.0.0')]),
    allowDowngradeFrom: ['1.1.0'],
  });
  t.equal(r2.health.version, '1.1.0');
  t.equal(r2.code, 'APPL_ERR_OTA_DOWNGRADE');
});

t.test('an emergency rollback signed from the running version is installed', async (t) => {
  const r = await runWith('rollback', desiredFor(rollback(older, ['1.1.0']), keys, [origin.artifactUrl('1.0.0')]));
  t.equal(r.health.version, '1.0.0', 'now on 1.0.0');
  t.ok(r.health.working);
  t.equal(r.last?.state, 'committed');
});

t.test('another build under the running version is not installed over it', async (t) => {
  origin.add(rebuilt);
  const original = fs.mkdtempSync(path.join(dir, 'original-'));
  execFileSync('tar', ['-xzf', running.file, '-C', original]);
  const before = fs.readFileSync(path.join(original, 'pad.bin'));
  const r = await runWith('same-version', desiredFor(rebuilt, keys, [origin.artifactUrl('1.1.0')]));
  t.equal(r.health.version, '1.1.0');
  t.equal(origin.bytesSent.get('1.1.0') ?? 0, 0, 'not downloaded');
  t.same(
    fs.readFileSync(path.join(r.box.root, 'current', 'pad.bin')),
    before,
    'the installed bytes are the original build',
  );
});

t.test(
  'after a signed rollback, the version rolled back from cannot come back by replay; a newer one can',
  async (t) => {
    origin.bytesSent.clear();
    origin.add(running); // 1.1.0, the version the rollback leaves
    const newer = buildArtifact(dir, '1.2.0');
    origin.add(newer);
    const box = makeBox(dir, 'after-rollback', running, [keys.trusted]);
    const step = async (a: Artifact) => {
      fs.writeFileSync(box.desiredFile, JSON.stringify(desiredFor(a, keys, [origin.artifactUrl(a.version)])));
      await runBox(box, origin.url);
      const last = readOutbox(box)
        .filter((r) => r.durable)
        .at(-1);
      return {
        version: boxHealth(box).version,
        last,
        error: last?.error as { code?: string; message?: string } | undefined,
      };
    };
    t.equal((await step(rollback(older, ['1.1.0']))).version, '1.0.0', 'rolled back to 1.0.0 by a signed rollback');
    const replay = await step(running);
    t.equal(replay.version, '1.0.0', 'the version rolled back from stays out');
    t.match(replay.last, { state: 'failed', target: '1.1.0', current: '1.0.0' });
    t.equal(replay.error?.code, 'APPL_ERR_OTA_DOWNGRADE');
    t.match(
      replay.error?.message,
      /1\.1\.0 is not newer than 1\.1\.0, which this box ran before it was rolled back to 1\.0\.0/,
    );
    t.equal(origin.bytesSent.get('1.1.0') ?? 0, 0, 'not downloaded');
    const forward = await step(newer);
    t.equal(forward.version, '1.2.0', 'a newer release moves the box on');
    t.equal(forward.last?.state, 'committed');
  },
);
