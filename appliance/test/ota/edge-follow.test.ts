import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { edgeFollowsCurrent } from '../../src/ota/edge-follow.js';

// The edge's unit is restarted when its working directory (procfs) is not
// where `current` points: after a switch, after a rollback, or when its
// version was pruned. systemctl is a small script answering `show MainPID`.

t.test('the edge follows the current version', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-edge-follow-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'opt');
  fs.mkdirSync(path.join(root, 'versions', '1.0.0'), { recursive: true });
  fs.mkdirSync(path.join(root, 'versions', '1.1.0'));
  fs.symlinkSync('versions/1.1.0', path.join(root, 'current'));
  const proc = path.join(dir, 'proc');
  fs.mkdirSync(path.join(proc, '4242'), { recursive: true });
  const systemctl = path.join(dir, 'systemctl');
  const pidFile = path.join(dir, 'pid');
  fs.writeFileSync(
    systemctl,
    `#!/bin/sh\n[ "$1 $2 $3 $4 $5" = "show -p MainPID --value diemcau-edge.service" ] && cat ${pidFile}\n`,
    {
      mode: 0o755,
    },
  );
  const restarts: string[] = [];
  const follow = () =>
    edgeFollowsCurrent({
      root,
      procRoot: proc,
      systemctl,
      unit: 'diemcau-edge.service',
      restart: async (reason) => void restarts.push(reason),
      log: pino({ level: 'silent' }),
    });
  const cwd = path.join(proc, '4242', 'cwd');

  fs.writeFileSync(pidFile, '4242\n');
  fs.symlinkSync(path.join(root, 'versions', '1.0.0'), cwd);
  t.equal(await follow(), 'restarted', 'edge on the old version: restarted');
  t.match(restarts[0], /runs 1\.0\.0, current is 1\.1\.0/);

  fs.rmSync(cwd);
  fs.symlinkSync(fs.realpathSync(path.join(root, 'versions', '1.1.0')), cwd);
  t.equal(await follow(), 'same', 'edge on the current version: left alone');

  fs.rmSync(cwd);
  fs.symlinkSync(`${path.join(root, 'versions', '0.9.0')} (deleted)`, cwd);
  t.equal(await follow(), 'restarted', 'edge on a pruned version: restarted');

  fs.writeFileSync(pidFile, '0\n');
  t.equal(await follow(), 'unknown', 'edge not running: systemd starts it from current');
  t.equal(restarts.length, 2);
});
