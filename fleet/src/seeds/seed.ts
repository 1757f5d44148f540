import type { Logger } from 'pino';
import { DiemcauError, KINDS_2022, SiteKindRegistry, type HierarchyDataset } from '@diemcau/shared';
import type { Repos } from '../db/repos.js';
import type { FleetDb } from '../db/database.js';

export { yenBaiSites } from './yen-bai.js';
export { DEFAULT_DATASET, loadDataset } from './datasets.js';

/**
 * Loads the dataset into an empty registry, sites with their kinds and relay
 * groups in one transaction, so a fresh install shows the whole hierarchy at
 * once. A registry with any site is left alone: the operator's import owns it
 * from then on. A registry from before datasets (sites, no kinds) gets the
 * dataset's kinds and relay groups when they fit its sites, else the 2022 kinds.
 */
export async function seedSitesIfEmpty(
  db: FleetDb,
  repos: Pick<Repos, 'sites' | 'hierarchy'>,
  dataset: HierarchyDataset,
  log: Logger,
): Promise<number> {
  const stored = await repos.hierarchy.get();
  const fromDataset = {
    dataset: dataset.id,
    name: dataset.name,
    kinds: dataset.kinds,
    relayGroups: dataset.relayGroups ?? null,
  };
  // Under the lock, so two fleet nodes starting on an empty PostgreSQL seed it once.
  const seeded = await db.tx(
    async () => {
      if ((await repos.sites.count()) > 0) return false;
      await repos.sites.upsertMany(dataset.sites);
      await repos.hierarchy.put(fromDataset);
      return true;
    },
    { lock: 'seed-sites' },
  );
  if (seeded) {
    log.info(
      { dataset: dataset.id, sites: dataset.sites.length, relayGroups: dataset.relayGroups?.length ?? 'derived' },
      'registry seeded from the dataset',
    );
    return dataset.sites.length;
  }
  if (stored) {
    if (stored.dataset !== dataset.id)
      log.warn(
        { registry: stored.dataset, configured: dataset.id },
        'the registry keeps the hierarchy it was seeded with',
      );
    return 0;
  }
  const sites = await repos.sites.list();
  const kinds = new Set(sites.map((s) => s.kind));
  const fits = (k: readonly { id: string }[]): boolean => [...kinds].every((id) => k.some((d) => d.id === id));
  const known = new Set(sites.map((s) => s.id));
  if (fits(dataset.kinds) && (dataset.relayGroups ?? []).every((g) => g.siteIds.every((id) => known.has(id)))) {
    await repos.hierarchy.put(fromDataset);
  } else if (fits(KINDS_2022)) {
    await repos.hierarchy.put({
      dataset: 'legacy-2022',
      name: { vi: 'Sổ đăng ký cũ', en: 'Earlier registry' },
      kinds: [...KINDS_2022],
      relayGroups: null,
    });
  } else {
    const missing = [...kinds].filter((k) => !new SiteKindRegistry(dataset.kinds).has(k));
    throw new DiemcauError(
      'FLEET_ERR_CONFIG',
      `the registry's site kinds ${missing.join(', ')} are not in dataset ${dataset.id}`,
    );
  }
  log.info(
    { dataset: (await repos.hierarchy.get())?.dataset },
    'site kinds and relay groups recorded for an existing registry',
  );
  return 0;
}
