// `npm run check:room` run as an installer runs it, on a host with no room kit
// (empty sysfs, procfs and /dev trees): it says what is missing and exits 1.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

t.test('a box with no camera, microphone or TV is not ready, and says why', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'check-room-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const d of ['sys', 'proc', 'dev']) fs.mkdirSync(path.join(root, d));
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '../src/check-room.ts')], {
    env: {
      ...process.env,
      DIEMCAU_SYSFS_ROOT: `${root}/sys`,
      DIEMCAU_PROCFS_ROOT: `${root}/proc`,
      DIEMCAU_DEV_ROOT: `${root}/dev`,
    },
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.equal(r.status, 1, r.stderr);
  t.match(r.stdout, /Camera\n {2}none found: plug the camera in/);
  t.match(r.stdout, /Microphone\n {2}none found/);
  t.match(r.stdout, /TV\n {2}no HDMI connector found/);
  t.match(r.stdout, /H\.264 encoder: software x264/);
  // No box audio server here: the check says the canceller is missing and why.
  t.match(
    r.stdout,
    /WebRTC echo canceller \(PipeWire diemcau-aec-source\): MISSING \((no audio server at \/run\/diemcau-audio\/pipewire-0|pw-dump is not installed)/,
  );
  t.match(r.stdout, /This room is not ready/);
});
