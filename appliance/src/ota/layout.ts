// The side-by-side layout on the box:
//   <root>/versions/<v>/   one unpacked release each
//   <root>/current         relative link → versions/<v>, what the service runs
//   <root>/previous        relative link → the version before, the rollback target
//   <stateDir>/downloads/  partial and complete artifacts
// Links are swapped by creating a new link under a temporary name and
// renaming it over the old one: rename(2) is atomic, so a power cut leaves
// either the old link or the new one. What a later step relies on is on the
// disk before the journal or a rename says so: ext4 writes a new file's data
// up to half a minute after the rename that names it (delayed allocation), so
// a power cut in between would leave a version installed, and `current`
// pointing at it, with empty files.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DiemcauError, fsyncDir } from '@diemcau/shared';

const run = promisify(execFile);

/** Flushes one file's or directory's data and metadata to the disk. */
export type SyncPath = (p: string) => Promise<void>;

/** fsync(2); read-only is enough on Linux, for directories too. */
export const fsyncPath: SyncPath = async (p) => {
  const fh = await fs.promises.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
};

/** Every regular file and directory under `dir`, each before the directory holding it. */
async function syncTree(dir: string, sync: SyncPath): Promise<void> {
  for (const e of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await syncTree(p, sync);
    else if (e.isFile()) await sync(p);
  }
  await sync(dir);
}

export class Layout {
  readonly versionsDir: string;
  readonly downloadsDir: string;

  constructor(
    readonly root: string,
    readonly stateDir: string,
    private readonly sync: SyncPath = fsyncPath,
  ) {
    this.versionsDir = path.join(root, 'versions');
    this.downloadsDir = path.join(stateDir, 'downloads');
  }

  async ensure(): Promise<void> {
    await fs.promises.mkdir(this.versionsDir, { recursive: true });
    await fs.promises.mkdir(this.downloadsDir, { recursive: true });
  }

  versionDir = (v: string): string => path.join(this.versionsDir, v);
  artifactPath = (v: string): string => path.join(this.downloadsDir, `${v}.tar.gz`);

  /** Version a link points at, or null when the link is missing. */
  readLink(name: 'current' | 'previous'): string | null {
    try {
      return path.basename(fs.readlinkSync(path.join(this.root, name)));
    } catch {
      return null;
    }
  }

  async setLink(name: 'current' | 'previous', version: string): Promise<void> {
    const link = path.join(this.root, name);
    const tmp = `${link}.${process.pid}.${Date.now()}.tmp`;
    await fs.promises.rm(tmp, { force: true });
    await fs.promises.symlink(path.join('versions', version), tmp);
    await fs.promises.rename(tmp, link);
    await fsyncDir(this.root);
  }

  downloadedBytes(v: string): number {
    try {
      return fs.statSync(this.artifactPath(v)).size;
    } catch {
      return 0;
    }
  }

  /** A version counts as installed only once its staging dir was renamed into place. */
  isInstalled = (v: string): boolean => fs.existsSync(this.versionDir(v));

  /**
   * Unpacks into versions/<v>.staging and renames it into place, so a kill
   * mid-unpack leaves only a staging dir that the next attempt wipes.
   */
  async install(v: string, entry: string, beforeRename?: () => Promise<void>): Promise<void> {
    if (this.isInstalled(v)) return;
    const staging = `${this.versionDir(v)}.staging`;
    await fs.promises.rm(staging, { recursive: true, force: true });
    await fs.promises.mkdir(staging, { recursive: true });
    try {
      await run('tar', ['-xzf', this.artifactPath(v), '-C', staging, '--no-same-owner']);
    } catch (err) {
      await fs.promises.rm(staging, { recursive: true, force: true });
      throw new DiemcauError('APPL_ERR_OTA_INSTALL', `unpacking ${v} failed`, { cause: err });
    }
    if (!fs.existsSync(path.join(staging, entry))) {
      await fs.promises.rm(staging, { recursive: true, force: true });
      throw new DiemcauError('APPL_ERR_OTA_INSTALL', `${v} has no ${entry}`);
    }
    await syncTree(staging, this.sync);
    await beforeRename?.();
    await fs.promises.rename(staging, this.versionDir(v));
    await fsyncDir(this.versionsDir);
  }

  /** Keeps current, previous and `keep`; removes other versions, staging dirs and downloads. */
  async prune(keep: readonly string[] = []): Promise<void> {
    const wanted = new Set(
      [this.readLink('current'), this.readLink('previous'), ...keep].filter((v): v is string => v !== null),
    );
    for (const name of await fs.promises.readdir(this.versionsDir)) {
      if (!wanted.has(name)) await fs.promises.rm(path.join(this.versionsDir, name), { recursive: true, force: true });
    }
    for (const name of await fs.promises.readdir(this.downloadsDir)) {
      if (!keep.some((v) => name.startsWith(`${v}.`)))
        await fs.promises.rm(path.join(this.downloadsDir, name), { force: true });
    }
  }

  /** The complete artifact on the disk, before the journal says it was verified. */
  async syncDownload(v: string): Promise<void> {
    await this.sync(this.artifactPath(v));
    await this.sync(this.downloadsDir);
  }

  async removeDownload(v: string): Promise<void> {
    await fs.promises.rm(this.artifactPath(v), { force: true });
  }
}
