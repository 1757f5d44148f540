// Where a freshly imaged box finds its way to the fleet. The trust order:
//   0. A box that has enrolled never looks again (the agent keeps its
//      identity; a stick inserted later is ignored), and an operator's
//      DIEMCAU_FLEET_URL in the image's agent.env is used without a search.
//   1. The pin in the image (/etc/diemcau/fleet-pin.json) is not a source but
//      a filter over every source below: a bootstrap that names another
//      fleet, or another CA, is refused, logged and counted, and the box
//      trusts the pinned CA. A pin that cannot be read refuses everything.
//   2. Among what passes: a USB stick (any mounted filesystem under the
//      removable-media roots; it carries the site's enrolment token), then
//      /boot (written by whoever imaged the card or disk), then /etc/diemcau
//      (the image's own), then the environment (DIEMCAU_FLEET_URL,
//      optionally DIEMCAU_ENROLL_TOKEN). The first valid one wins.
// Without a pin (a generic image) the first valid file wins, plug-and-play:
// whoever holds a fresh box with a stick chooses its fleet. Invalid files
// are reported, not fatal, so a stale or damaged stick does not stop the box
// from trying the next place.
import fs from 'node:fs/promises';
import path from 'node:path';
import { BOOTSTRAP_FILE_NAME, FLEET_PIN_FILE_NAME, bootstrapCodec, type Bootstrap } from '@diemcau/shared';
import { Type, type Static } from '@sinclair/typebox';
import { loadSettings, settingsSection } from '@diemcau/shared';
import { applyPin, loadPin } from './pin.js';

export interface BootstrapSearch {
  /** Folders whose subfolders are mount points of removable media. */
  removableRoots: string[];
  /** Folders that may hold the file directly. */
  fixedDirs: string[];
  /** The image's fleet pin; null = none looked for. */
  pinFile: string | null;
  /** The fleet URL and token the agent's settings give (DIEMCAU_FLEET_URL, DIEMCAU_ENROLL_TOKEN): the last resort. */
  given: { fleetUrl?: string | undefined; enrollToken?: string | undefined };
}

export const DEFAULT_SEARCH: Omit<BootstrapSearch, 'given'> = {
  removableRoots: ['/media', '/run/media', '/mnt'],
  fixedDirs: ['/boot', '/boot/firmware', '/etc/diemcau'],
  pinFile: `/etc/diemcau/${FLEET_PIN_FILE_NAME}`,
};

export type BootstrapSource = { kind: 'file'; file: string } | { kind: 'env' };

export interface FoundBootstrap {
  bootstrap: Bootstrap;
  source: BootstrapSource;
}

export interface DiscoveryResult {
  found: FoundBootstrap | null;
  /** Files that exist but could not be used, with why; `code` APPL_ERR_BOOTSTRAP_PIN when the pin refused it. */
  rejected: { file: string; reason: string; code: 'PROTO_ERR_SCHEMA' | 'APPL_ERR_BOOTSTRAP_PIN' }[];
  /** The image has a pin (or a broken one, which refuses everything). */
  pinned: boolean;
  counts: { invalid: number; refusedByPin: number };
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
export async function candidateFiles(search: Omit<BootstrapSearch, 'given'>): Promise<string[]> {
  const removable = (await Promise.all(search.removableRoots.map((r) => subdirs(r, 2)))).flat();
  return [...removable, ...search.fixedDirs].map((d) => path.join(d, BOOTSTRAP_FILE_NAME));
}

export async function discoverBootstrap(search: BootstrapSearch): Promise<DiscoveryResult> {
  const rejected: DiscoveryResult['rejected'] = [];
  const counts = { invalid: 0, refusedByPin: 0 };
  const pin = await loadPin(search.pinFile);
  const pinned = pin.kind !== 'none';
  const done = (found: FoundBootstrap | null): DiscoveryResult => ({ found, rejected, pinned, counts });
  if (pin.kind === 'broken') {
    // Fail closed: a box that cannot tell its fleet from another enrols nowhere.
    rejected.push({ file: search.pinFile!, reason: pin.reason, code: 'APPL_ERR_BOOTSTRAP_PIN' });
    counts.refusedByPin++;
    return done(null);
  }
  const consider = (candidate: Bootstrap, source: BootstrapSource, name: string): FoundBootstrap | null => {
    if (pin.kind === 'none') return { bootstrap: candidate, source };
    const p = applyPin(candidate, pin.pin);
    if (p.ok) return { bootstrap: p.bootstrap, source };
    rejected.push({ file: name, reason: p.reason, code: 'APPL_ERR_BOOTSTRAP_PIN' });
    counts.refusedByPin++;
    return null;
  };
  for (const file of await candidateFiles(search)) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      continue;
    }
    const r = bootstrapCodec.decode(text);
    if (!r.ok) {
      rejected.push({ file, reason: r.error.message, code: 'PROTO_ERR_SCHEMA' });
      counts.invalid++;
      continue;
    }
    const found = consider(r.value, { kind: 'file', file }, file);
    if (found) return done(found);
  }
  const { fleetUrl, enrollToken } = search.given;
  if (fleetUrl) {
    const candidate: Bootstrap = { v: 1, fleetUrl, ...(enrollToken ? { token: enrollToken } : {}) };
    const r = bootstrapCodec.check(candidate);
    if (!r.ok) {
      rejected.push({ file: 'environment', reason: r.error.message, code: 'PROTO_ERR_SCHEMA' });
      counts.invalid++;
    } else {
      const found = consider(r.value, { kind: 'env' }, 'environment');
      if (found) return done(found);
    }
  }
  return done(null);
}

/** The `bootstrap` section of the agent's tree: where the bootstrap file is looked for. */
export const BootstrapSettingsSchema = settingsSection(
  {
    removableRoots: Type.Array(Type.String({ minLength: 1 }), {
      default: DEFAULT_SEARCH.removableRoots,
      env: 'DIEMCAU_BOOTSTRAP_REMOVABLE_ROOTS',
      envSeparator: ':',
      description: 'folders whose subfolders are mount points of removable media (colon-separated)',
    }),
    dirs: Type.Array(Type.String({ minLength: 1 }), {
      default: DEFAULT_SEARCH.fixedDirs,
      env: 'DIEMCAU_BOOTSTRAP_DIRS',
      envSeparator: ':',
      description: 'folders that may hold the bootstrap file directly (colon-separated)',
    }),
    pinFile: Type.String({
      minLength: 1,
      default: DEFAULT_SEARCH.pinFile ?? '',
      env: 'DIEMCAU_BOOTSTRAP_PIN',
      description: "the image's fleet pin",
    }),
  },
  'finding the bootstrap file (USB stick, /boot, /etc/diemcau)',
);
export type BootstrapSettings = Static<typeof BootstrapSettingsSchema>;

/** The search from the tree: its section, and the fleet URL and token the agent was given. */
export function searchFrom(
  s: BootstrapSettings,
  given: { fleetUrl?: string | undefined; enrollToken?: string | undefined },
): BootstrapSearch {
  return {
    removableRoots: s.removableRoots,
    fixedDirs: s.dirs,
    pinFile: s.pinFile,
    given: { fleetUrl: given.fleetUrl, enrollToken: given.enrollToken },
  };
}

const SectionOnly = Type.Object({ bootstrap: BootstrapSettingsSchema });

/** The search from an env object (tests): its section, and DIEMCAU_FLEET_URL/DIEMCAU_ENROLL_TOKEN as given. */
export function searchFromEnv(env: NodeJS.ProcessEnv): BootstrapSearch {
  return searchFrom(loadSettings(SectionOnly, { env }, 'APPL_ERR_CONFIG').settings.bootstrap, {
    fleetUrl: env.DIEMCAU_FLEET_URL,
    enrollToken: env.DIEMCAU_ENROLL_TOKEN,
  });
}
