import { districtOf, indexSites, subtreeIds, type Site, type SiteIndex } from '@diemcau/shared';
import type { SitesRepo } from './db/sites-repo.js';

/**
 * The site hierarchy in memory: every request and every presence change asks
 * "which district is this under?", which must not cost a query. Call reload()
 * after importing sites.
 */
export class SiteDirectory {
  private index: SiteIndex = indexSites([]);
  private list: Site[] = [];

  constructor(private readonly repo: SitesRepo) {
    this.reload();
  }

  reload(): void {
    this.list = this.repo.list();
    this.index = indexSites(this.list);
  }

  all(): readonly Site[] {
    return this.list;
  }

  get(id: string): Site | undefined {
    return this.index.byId.get(id);
  }

  /** The site and everything under it. */
  subtree(id: string): string[] {
    return subtreeIds(this.index, id);
  }

  districtOf(id: string): string | null {
    return districtOf(this.index, id);
  }

  /** True when `siteId` is `rootId` or below it. */
  isWithin(siteId: string, rootId: string): boolean {
    let site = this.index.byId.get(siteId);
    while (site) {
      if (site.id === rootId) return true;
      site = site.parentId ? this.index.byId.get(site.parentId) : undefined;
    }
    return false;
  }
}
