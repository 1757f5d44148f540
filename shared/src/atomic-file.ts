import fs from 'node:fs';
import path from 'node:path';

// Write-then-rename, for every program that writes a file another reads: a
// reader (or the agent after a power cut) sees the old file or the new one,
// never half of one. The fsync of the file before the
// rename and of the directory after it is what makes the rename durable.

export interface AtomicWriteOptions {
  mode?: number;
  fsync?: boolean;
}

export async function writeFileAtomic(
  file: string,
  data: string | Buffer,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fh = await fs.promises.open(tmp, 'w', opts.mode ?? 0o600);
  try {
    await fh.writeFile(data);
    if (opts.fsync) await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  if (opts.fsync) await fsyncDir(path.dirname(file));
}

export function writeFileAtomicSync(file: string, data: string | Buffer, opts: AtomicWriteOptions = {}): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = fs.openSync(tmp, 'w', opts.mode ?? 0o600);
  try {
    fs.writeFileSync(fd, data);
    if (opts.fsync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (opts.fsync) {
    const dfd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  }
}

/** Makes a rename or a new file in `dir` durable across a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const dh = await fs.promises.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
