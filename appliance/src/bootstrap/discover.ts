// Where a freshly imaged box finds its way to the fleet, in order:
//   1. a USB stick (any mounted filesystem under the removable-media roots),
//   2. /boot (written by whoever imaged the card or disk),
//   3. /etc/diemcau,
//   4. the environment (DIEMCAU_FLEET_URL, optionally DIEMCAU_ENROLL_TOKEN).
// The first valid file wins; invalid files are reported, not fatal, so a
// stale or damaged stick does not stop the box from trying the next place.
import fs from 'node:fs/promises';
import path from 'node:path';
import { BOOTSTRAP_FILE_NAME, bootstrapCodec, type Bootstrap } from '@diemcau/shared';

export interface BootstrapSearch {
  /** Folders whose subfolders are mount points of removable media. */
  removableRoots: string[];
  /** Folders that may hold the file directly. */
  fixedDirs: string[];
  env: NodeJS.ProcessEnv;
}

export const DEFAULT_SEARCH: Omit<BootstrapSearch, 'env'> = {
  removableRoots: ['/media', '/run/media', '/mnt'],
  fixedDirs: ['/boot', '/boot/firmware', '/etc/diemcau'],
};

export type BootstrapSource = { kind: 'file'; file: string } | { kind: 'env' };

export interface FoundBootstrap {
  bootstrap: Bootstrap;
  source: BootstrapSource;
}

export interface DiscoveryResult {
  found: FoundBootstrap | null;
  /** Files that exist but could not be used, with why. */
  rejected: { file: string; reason: string }[];
}

async function subdirs(dir: string, depth: number): Promise<string[]> {
  if (depth === 0) return [dir];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const nested = await Promise.all(
    entries.filter((e) => e.isDirectory()).map((e) => subdirs(path.join(dir, e.name), depth - 1)),
  );
  return [dir, ...nested.flat()];
}

/** Candidate files in search order. /media/<user>/<label> and /run/media/<user>/<label> are two levels down. */
export async function candidateFiles(search: Omit<BootstrapSearch, 'env'>): Promise<string[]> {
  const removable = (await Promise.all(search.removableRoots.map((r) => subdirs(r, 2)))).flat();
  return [...removable, ...search.fixedDirs].map((d) => path.join(d, BOOTSTRAP_FILE_NAME));
}

export async function discoverBootstrap(search: BootstrapSearch): Promise<DiscoveryResult> {
  const rejected: DiscoveryResult['rejected'] = [];
  for (const file of await candidateFiles(search)) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      continue;
    }
    const r = bootstrapCodec.decode(text);
    if (r.ok) return { found: { bootstrap: r.value, source: { kind: 'file', file } }, rejected };
    rejected.push({ file, reason: r.error.message });
  }
  const fleetUrl = search.env.DIEMCAU_FLEET_URL;
  if (fleetUrl) {
    const candidate: Bootstrap = { v: 1, fleetUrl, ...(search.env.DIEMCAU_ENROLL_TOKEN ? { token: search.env.DIEMCAU_ENROLL_TOKEN } : {}) };
    const r = bootstrapCodec.check(candidate);
    if (r.ok) return { found: { bootstrap: r.value, source: { kind: 'env' } }, rejected };
    rejected.push({ file: 'environment', reason: r.error.message });
  }
  return { found: null, rejected };
}

/** Search roots from the environment (colon-separated), for tests and unusual boxes. */
export function searchFromEnv(env: NodeJS.ProcessEnv): BootstrapSearch {
  const list = (v: string | undefined, dflt: string[]) => (v ? v.split(':').filter(Boolean) : dflt);
  return {
    removableRoots: list(env.DIEMCAU_BOOTSTRAP_REMOVABLE_ROOTS, DEFAULT_SEARCH.removableRoots),
    fixedDirs: list(env.DIEMCAU_BOOTSTRAP_DIRS, DEFAULT_SEARCH.fixedDirs),
    env,
  };
}
