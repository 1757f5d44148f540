// A fault-injection hook for tests of the shipped image: when the `ota.pauseFile`
// setting names a file and that file names one of the executor's checkpoints,
// the updater stops there, once, until the process ends. A test then cuts the
// power (kills the VM) at a known step of an update. The trigger file is
// consumed and a `.hit` marker written, both durably, before the pause: the
// start after the cut runs freely and the test knows the step was reached.
// Unset on real boxes (the image's units never set it).
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { fsyncDir, writeFileAtomic } from '@diemcau/shared';
import type { Checkpoint } from './executor.js';

export function pauseAtCheckpoint(file: string, log: Logger): (name: Checkpoint) => Promise<void> {
  return async (name) => {
    let wanted: string;
    try {
      wanted = fs.readFileSync(file, 'utf8').trim();
    } catch {
      return; // no trigger: run freely
    }
    if (wanted !== name) return;
    await writeFileAtomic(`${file}.hit`, `${name}\n`, { fsync: true });
    await fs.promises.rm(file, { force: true });
    await fsyncDir(path.dirname(file));
    log.warn({ checkpoint: name }, 'update paused at a checkpoint (fault-injection hook)');
    // Held until the process ends (a power cut, or the stop's forced exit).
    await new Promise<never>(() => undefined);
  };
}
