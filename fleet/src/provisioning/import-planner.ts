import { validateHierarchy, type Site, type SiteKindRegistry } from '@diemcau/shared';

// Planning a site import, apart from the database: given the registry's sites
// and an incoming list, which rows are new, which change, which are already
// as given, and whether the result is still a valid hierarchy. Sites absent
// from the list are kept: an import adds and updates, it never deletes (a
// district's own list must not wipe the rest of the province).

export type ImportPlan =
  { ok: true; create: Site[]; update: Site[]; unchanged: Site[] } | { ok: false; problems: string[] };

/** Compares the fields an import controls; absent optional fields count as empty. */
export function sameSite(a: Site, b: Site): boolean {
  return (
    a.name === b.name &&
    a.kind === b.kind &&
    a.parentId === b.parentId &&
    (a.address ?? '') === (b.address ?? '') &&
    (a.contact ?? '') === (b.contact ?? '')
  );
}

/** `kinds`: the registry's site kinds (from its dataset); without it, the 2022 network's. */
export function planSiteImport(
  existing: readonly Site[],
  incoming: readonly Site[],
  kinds?: SiteKindRegistry,
): ImportPlan {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const s of incoming) {
    if (seen.has(s.id)) problems.push(`site ${s.id} is listed twice`);
    seen.add(s.id);
  }
  // The hierarchy after the import: existing sites overridden by the list.
  const merged = new Map(existing.map((s) => [s.id, s]));
  for (const s of incoming) merged.set(s.id, s);
  problems.push(...validateHierarchy([...merged.values()], kinds));
  if (problems.length > 0) return { ok: false, problems };

  const before = new Map(existing.map((s) => [s.id, s]));
  const create: Site[] = [];
  const update: Site[] = [];
  const unchanged: Site[] = [];
  for (const s of incoming) {
    const old = before.get(s.id);
    if (!old) create.push(s);
    else if (sameSite(old, s)) unchanged.push(s);
    else update.push(s);
  }
  return { ok: true, create, update, unchanged };
}
