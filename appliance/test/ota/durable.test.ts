// What the updater relies on after a power cut is on the disk before the step
// that relies on it is recorded. ext4 writes a new file's data up to half a
// minute after the rename or journal entry that names it (delayed
// allocation): without an fsync first, a cut after the journal said
// "verified" left a short artifact, and a cut after the version was renamed
// into place (and `current` switched to it) left its files empty, so the box
// started an empty agent. No power can be cut here, so the box records every
// fsync its layout asks for and every checkpoint, in order, through a real
// update of a real agent process; the disk's side is the image's fault matrix.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildArtifact, desiredFor, makeBox, makeKeys, runBox, startOrigin, tmpDir } from './harness.js';

const dir = tmpDir('diemcau-ota-durable-');
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every regular file and directory under `root` (itself included), as paths. */
const tree = (root: string): string[] => [
  root,
  ...fs.readdirSync(root, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(root, e.name);
    return e.isDirectory() ? tree(p) : e.isFile() ? [p] : [];
  }),
];

t.test('the artifact and every unpacked file are flushed before the journal or a rename names them', async (t) => {
  const keys = makeKeys();
  const base = buildArtifact(dir, '1.0.0');
  const next = buildArtifact(dir, '1.1.0');
  const origin = await startOrigin();
  t.teardown(() => origin.close());
  origin.add(base);
  origin.add(next);
  const box = makeBox(dir, 'box', base, [keys.trusted]);
  fs.writeFileSync(box.desiredFile, JSON.stringify(desiredFor(next, keys, [origin.artifactUrl(next.version)])));
  const traceFile = path.join(dir, 'sync.log');
  await runBox(box, origin.url, [], { BOX_SYNC_LOG: traceFile });
  const trace = fs.readFileSync(traceFile, 'utf8').trim().split('\n');
  const at = (line: string): number => trace.indexOf(line);

  t.equal(fs.readlinkSync(path.join(box.root, 'current')), path.join('versions', '1.1.0'), 'the update went through');
  const artifact = path.join(box.state, 'downloads', '1.1.0.tar.gz');
  const flushed = at(`sync ${artifact}`);
  t.ok(flushed >= 0 && flushed < at('checkpoint verified'), 'the artifact flushed before the journal says verified');

  // Everything the version holds, as it was named in staging before the rename.
  const staging = `${path.join(box.root, 'versions', '1.1.0')}.staging`;
  const unpacked = tree(path.join(box.root, 'versions', '1.1.0')).map((p) =>
    p.replace(path.join(box.root, 'versions', '1.1.0'), staging),
  );
  t.ok(unpacked.length >= 4, `the release's files and folder (${unpacked.length})`);
  const beforeRename = at('checkpoint unpacked');
  t.ok(beforeRename > 0, 'the staging checkpoint was passed');
  const late = unpacked.filter((p) => {
    const i = at(`sync ${p}`);
    return i < 0 || i > beforeRename;
  });
  t.same(late, [], 'every unpacked file and folder flushed before the rename into versions/');
});
