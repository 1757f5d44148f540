import type { Logger } from 'pino';
import { validateHierarchy } from '@diemcau/shared';
import type { SitesRepo } from '../db/sites-repo.js';
import { yenBaiSites } from './yen-bai.js';

export { yenBaiSites } from './yen-bai.js';

/**
 * Loads the province's sites into an empty registry, so that a fresh install
 * shows the whole hierarchy at once. A registry with any site is left alone:
 * the operator's import owns it from then on.
 */
export function seedSitesIfEmpty(sites: SitesRepo, log: Logger): number {
  if (sites.count() > 0) return 0;
  const seed = yenBaiSites();
  const problems = validateHierarchy(seed);
  if (problems.length > 0) throw new Error(`seed hierarchy is invalid: ${problems.join('; ')}`);
  sites.upsertMany(seed);
  log.info({ sites: seed.length }, 'registry seeded with the sites of Yên Bái');
  return seed.length;
}
