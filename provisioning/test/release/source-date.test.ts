// release:build as the image build runs it: with SOURCE_DATE_EPOCH set, the
// manifest's `created` is that moment, so two builds of the same sources and
// key give the same bytes (an image rebuilt around a rebuilt release is then
// the same image). Without it, `created` is the build's own time; a value
// that is not a time is refused before anything is built.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { generateReleaseKey } from '../../src/release/keys.js';
import { releaseBuildCli } from './build-cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-source-date-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const key = generateReleaseKey(path.join(dir, 'keys'));
const EPOCH = 1796428238;

function build(out: string, epoch: string | undefined) {
  const r = releaseBuildCli(
    ['--key', key.privateKeyFile, '--version', '0.9.1', '--out', path.join(dir, out)],
    epoch === undefined ? {} : { SOURCE_DATE_EPOCH: epoch },
  );
  const manifestFile = path.join(dir, out, 'diemcau-agent-0.9.1.manifest.json');
  const signed = fs.existsSync(manifestFile)
    ? (JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { payload: string })
    : null;
  const manifest = signed ? (JSON.parse(signed.payload) as { created: string; sha256: string }) : null;
  return { status: r.status, stderr: r.stderr, manifest };
}

t.test('the same sources and epoch: the same bytes, created at the epoch', async (t) => {
  const a = build('a', String(EPOCH));
  const b = build('b', String(EPOCH));
  t.equal(a.status, 0, a.stderr);
  t.equal(b.status, 0, b.stderr);
  t.equal(a.manifest?.created, new Date(EPOCH * 1000).toISOString(), "the manifest's time is the epoch");
  t.equal(a.manifest?.sha256, b.manifest?.sha256, 'the two artifacts are the same bytes');
  const tarA = fs.readFileSync(path.join(dir, 'a', 'diemcau-agent-0.9.1.tar.gz'));
  const tarB = fs.readFileSync(path.join(dir, 'b', 'diemcau-agent-0.9.1.tar.gz'));
  t.ok(tarA.equals(tarB), 'checked on the files themselves');
});

t.test('without the epoch the build is stamped with its own time', async (t) => {
  const before = Date.now();
  const c = build('c', undefined);
  t.equal(c.status, 0, c.stderr);
  const created = Date.parse(c.manifest?.created ?? '');
  t.ok(created >= before - 1000 && created <= Date.now() + 1000, `created ${c.manifest?.created}`);
});

t.test('an epoch that is not a time is refused before anything is built', async (t) => {
  // The last: past the year 9999, which no date can hold (it threw a RangeError with a stack).
  for (const bad of ['yesterday', '-5', '1.5', '99999999999999']) {
    const r = build(`bad-${bad}`, bad);
    t.equal(r.status, 2, `${bad}: exit 2`);
    t.match(r.stderr, /release:build: .*SOURCE_DATE_EPOCH/, `${bad}: the variable is named`);
    t.notOk(fs.existsSync(path.join(dir, `bad-${bad}`)), `${bad}: nothing written`);
  }
});
