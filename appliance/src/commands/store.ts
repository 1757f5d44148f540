import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '@diemcau/shared';
import type { StoredEntry } from './planner.js';

// The idempotency store: one small JSON file per command id under
// {dataDir}/commands. Writes are atomic (write, fsync, rename) and synchronous,
// so 'running' is on disk before a handler starts: a crash or a reboot
// mid-command can never lead to a second run.

export interface IdempotencyStore {
  get(id: string): StoredEntry | undefined;
  put(entry: StoredEntry): void;
  all(): StoredEntry[];
  remove(id: string): void;
}

// Command ids are free text up to 64 characters; base64url keeps them file-safe and reversible.
const fileName = (id: string) => `${Buffer.from(id, 'utf8').toString('base64url')}.json`;

export function createIdempotencyStore(dir: string, opts: { fsync?: boolean } = {}): IdempotencyStore {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fsync = opts.fsync ?? true;
  const read = (file: string): StoredEntry | undefined => {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as StoredEntry;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // A torn file cannot exist (atomic rename), so this is disk damage: keep the file for a human.
      throw err;
    }
  };
  return {
    get: (id) => read(fileName(id)),
    put: (entry) => writeFileAtomicSync(path.join(dir, fileName(entry.id)), JSON.stringify(entry), { fsync }),
    all: () =>
      fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map(read)
        .filter((e): e is StoredEntry => e !== undefined),
    remove: (id) => fs.rmSync(path.join(dir, fileName(id)), { force: true }),
  };
}
