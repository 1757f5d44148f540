// Does this box have what a release's native parts need? Pure: given the
// packages installed (as dpkg-query lists them), the box's architecture and
// Node ABI, and the signed manifest's `requires`, which requirements are
// unmet. The planner refuses the release when the list is not empty; the
// package list itself is read by a probe (packages.ts).
import type { ReleaseRequirements, UnmetRequirement } from '@diemcau/shared';

export interface BoxFacts {
  /** Installed Debian packages by name → version; null when the box could not list them. */
  packages: ReadonlyMap<string, string> | null;
  arch: string;
  nodeAbi: string;
}

export function unmetRequirements(requires: ReleaseRequirements | undefined, box: BoxFacts): UnmetRequirement[] {
  if (!requires) return [];
  const unmet: UnmetRequirement[] = [];
  if (requires.arch !== undefined && requires.arch !== box.arch)
    unmet.push({ kind: 'arch', name: 'arch', need: requires.arch, have: box.arch });
  if (requires.nodeAbi !== undefined && requires.nodeAbi !== box.nodeAbi)
    unmet.push({ kind: 'node-abi', name: 'node-abi', need: requires.nodeAbi, have: box.nodeAbi });
  for (const r of requires.debian) {
    const have = box.packages?.get(r.package) ?? null;
    if (have === null || (r.minVersion !== undefined && compareDebianVersions(have, r.minVersion) < 0)) {
      unmet.push({ kind: 'debian', name: r.package, need: r.minVersion ?? null, have });
    }
  }
  return unmet;
}

/** One line for the dashboard and the log: "libsrtp2-1 not installed; libssl3 3.0.11-1 < 3.0.22". */
export function describeUnmet(unmet: readonly UnmetRequirement[], packagesKnown = true): string {
  const parts = unmet.map((u) => {
    if (u.kind !== 'debian') return `${u.name} ${u.need ?? '?'} needed, box has ${u.have ?? 'unknown'}`;
    if (u.have === null) return packagesKnown ? `${u.name} not installed` : `${u.name} unknown`;
    return `${u.name} ${u.have} older than ${u.need ?? '?'}`;
  });
  return parts.join('; ');
}

/**
 * dpkg's version ordering (deb-version(7)): epoch numerically, then the
 * upstream version and the Debian revision each compared as alternating
 * non-digit and digit runs, where in the non-digit runs letters sort before
 * non-letters and '~' before everything, even the end of the string (so
 * 1.0~rc1 < 1.0). The same answer as `dpkg --compare-versions`, without a
 * process, so the rule is testable as a table.
 */
export function compareDebianVersions(a: string, b: string): number {
  const pa = splitVersion(a);
  const pb = splitVersion(b);
  if (pa.epoch !== pb.epoch) return Math.sign(pa.epoch - pb.epoch);
  return compareFragment(pa.upstream, pb.upstream) || compareFragment(pa.revision, pb.revision);
}

function splitVersion(v: string): { epoch: number; upstream: string; revision: string } {
  const colon = v.indexOf(':');
  const epoch = colon > 0 ? Number.parseInt(v.slice(0, colon), 10) || 0 : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash < 0
    ? { epoch, upstream: rest, revision: '' }
    : { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
}

/** dpkg's `order()`: '~' lowest, then the end of the string, then letters, then everything else. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // The non-digit run, character by character.
    while ((i < a.length && !isDigit(a[i]!)) || (j < b.length && !isDigit(b[j]!))) {
      const ac = i < a.length && !isDigit(a[i]!) ? a[i] : undefined;
      const bc = j < b.length && !isDigit(b[j]!) ? b[j] : undefined;
      const d = order(ac) - order(bc);
      if (d !== 0) return Math.sign(d);
      i++;
      j++;
    }
    // The digit run, numerically (leading zeros do not count).
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let first = 0;
    while (i < a.length && isDigit(a[i]!) && j < b.length && isDigit(b[j]!)) {
      if (!first) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a[i]!)) return 1;
    if (j < b.length && isDigit(b[j]!)) return -1;
    if (first) return Math.sign(first);
  }
  return 0;
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
