// Two root filesystems made from the same tree at different moments are the
// same bytes once fix-inode-times.sh has run: mke2fs -d copies each file's
// change time (the moment of the build, which no tool can set) and access
// time (moved by any read of the tree) into the inodes and their checksums.
// Real mke2fs and debugfs on a small tree shaped like the root's.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const script = join(import.meta.dirname, '../debian/fix-inode-times.sh');
const EPOCH = 1_764_806_400;
const UUID = '7b3f0c2e-1d4a-4e8b-9f60-5e1a2d3c4b03';

const dir = mkdtempSync(join(tmpdir(), 'diemcau-inode-times-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const tree = join(dir, 'root');
for (const d of ['etc', 'usr/lib/diemcau', 'opt/diemcau/versions/1.0.0', 'var/lib/a dir with spaces'])
  mkdirSync(join(tree, d), { recursive: true });
writeFileSync(join(tree, 'etc/hostname'), 'diemcau\n');
writeFileSync(join(tree, 'usr/lib/diemcau/gpio-access'), '#!/bin/sh\n');
writeFileSync(join(tree, 'var/lib/a dir with spaces/file'), 'x');
symlinkSync('versions/1.0.0', join(tree, 'opt/diemcau/current'));

/** Every time in the tree set to the epoch, as build-rootfs.sh does before the disk is made. */
function touchAll(): void {
  execFileSync('find', [tree, '-exec', 'touch', '-h', '-d', `@${EPOCH}`, '{}', '+']);
}

function makeFs(name: string, fix: boolean): Buffer {
  const file = join(dir, name);
  execFileSync(
    'mke2fs',
    ['-q', '-t', 'ext4', '-U', UUID, '-E', `hash_seed=${UUID},root_owner=0:0`, '-d', tree, file, '16M'],
    {
      env: { ...process.env, E2FSPROGS_FAKE_TIME: String(EPOCH) },
    },
  );
  if (fix) execFileSync(script, [file, tree, String(EPOCH)]);
  return readFileSync(file);
}

const differing = (a: Buffer, b: Buffer): number => {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
};

t.test('the same tree made twice is the same filesystem, and fsck finds it sound', async (t) => {
  touchAll();
  const first = makeFs('first.ext4', true);
  const firstRaw = makeFs('first-raw.ext4', false);
  // A second later the tree's files change status (their ctime moves), as on another build.
  await new Promise((r) => setTimeout(r, 1100));
  chmodSync(join(tree, 'usr/lib/diemcau/gpio-access'), 0o755);
  chmodSync(join(tree, 'usr/lib/diemcau/gpio-access'), 0o644);
  touchAll();
  const second = makeFs('second.ext4', true);
  const secondRaw = makeFs('second-raw.ext4', false);

  t.ok(differing(firstRaw, secondRaw) > 0, 'without the fix, the two differ (inode change times)');
  t.equal(differing(first, second), 0, 'with it, they are byte for byte the same');
  execFileSync('e2fsck', ['-fn', join(dir, 'second.ext4')], { stdio: 'pipe' });
  t.pass('e2fsck finds no fault after the fix');
  const stat = execFileSync('debugfs', ['-R', 'stat /etc/hostname', join(dir, 'second.ext4')], {
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  t.match(stat, new RegExp(`ctime: 0x${EPOCH.toString(16)}:`), 'a file’s change time is the epoch');
});

t.test('a name debugfs cannot be given fails the step instead of leaving a time unfixed', async (t) => {
  const odd = join(dir, 'odd');
  mkdirSync(odd);
  writeFileSync(join(odd, 'say "hi"'), '');
  t.throws(() => execFileSync(script, [join(dir, 'first.ext4'), odd, String(EPOCH)], { stdio: 'pipe' }));
});
