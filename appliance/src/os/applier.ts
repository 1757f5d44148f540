// What applying an OS snapshot means, whoever does it: apt on this box
// (apt.ts), apt in the image's root unit on the agent's behalf (unit.ts), or
// a simulated package list (simulated.ts). The updater (updater.ts) sees
// only this interface.
import type { AptSource, PackageChange } from '@diemcau/shared';

export interface OsApplyRequest {
  snapshot: string;
  sources: readonly AptSource[];
}

export interface OsApplyResult {
  /** Packages apt installed, upgraded or removed, by name. */
  changed: PackageChange[];
  /** A new kernel or a library in use needs a restart (Debian's /run/reboot-required). */
  rebootRequired: boolean;
}

export interface OsApplier {
  readonly kind: 'apt' | 'apt-unit' | 'simulated';
  /** Points apt at the snapshot, updates and upgrades. Throws APPL_ERR_OS_APT with apt's own words. */
  apply(req: OsApplyRequest): Promise<OsApplyResult>;
  close(): void;
}

/** Installed packages before and after, compared by name. */
export function packageChanges(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): PackageChange[] {
  const out: PackageChange[] = [];
  for (const [name, to] of after) {
    const from = before.get(name) ?? null;
    if (from !== to) out.push({ package: name, from, to });
  }
  for (const [name, from] of before) if (!after.has(name)) out.push({ package: name, from, to: null });
  return out.sort((a, b) => a.package.localeCompare(b.package));
}
