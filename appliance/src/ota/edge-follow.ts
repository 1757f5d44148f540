// After a switch or a rollback the agent runs the version `current` points
// at, but the media edge (its own unit, started from the same link) keeps
// the code it was started with until something restarts it, and two updates
// later its version directory is pruned from under it. So at each agent
// start on a real box (the start on trial after a switch, the start after a
// rollback, a boot) the edge's working directory is compared with where
// `current` points, and the edge's unit is restarted when they differ.
// Updates are scheduled outside meetings, so the restart costs no meeting.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ProcessRunner } from '../devices/process-runner.js';

export interface EdgeFollowDeps {
  /** Where `current` lives (the updater's root). */
  root: string;
  procRoot: string;
  systemctl: string;
  unit: string;
  restart(reason: string): Promise<void>;
  log: Logger;
  runner?: ProcessRunner;
}

export async function edgeFollowsCurrent(d: EdgeFollowDeps): Promise<'same' | 'restarted' | 'unknown'> {
  let target: string;
  try {
    target = fs.realpathSync(path.join(d.root, 'current'));
  } catch {
    return 'unknown'; // no side-by-side layout here
  }
  const runner = d.runner ?? new ProcessRunner();
  let pid = 0;
  try {
    const r = await runner.run(d.systemctl, ['show', '-p', 'MainPID', '--value', d.unit], { timeoutMs: 15_000 });
    pid = r.code === 0 ? Number(r.stdout.toString().trim()) : 0;
  } catch (err) {
    d.log.warn({ err, unit: d.unit }, 'cannot ask systemd for the edge');
  } finally {
    if (!d.runner) runner.close();
  }
  if (!Number.isInteger(pid) || pid <= 0) return 'unknown'; // not running: systemd starts it from `current`
  let cwd: string;
  try {
    cwd = fs.readlinkSync(path.join(d.procRoot, String(pid), 'cwd'));
  } catch {
    return 'unknown';
  }
  if (cwd === target) return 'same';
  await d.restart(`the edge runs ${path.basename(cwd)}, current is ${path.basename(target)}`);
  return 'restarted';
}
