import {
  indexSites,
  relayGroupOf,
  SiteKindRegistry,
  subtreeIds,
  KINDS_2022,
  type RelayGroup,
  type Site,
  type SiteIndex,
} from '@diemcau/shared';
import type { SitesRepo } from './db/sites-repo.js';
import type { HierarchyRepo, StoredHierarchy } from './db/hierarchy-repo.js';

/**
 * The site hierarchy in memory: every request and every presence change asks
 * "is this site in that operator's area?" or "which relay group is it
 * behind?", which must not cost a query. Call reload() after importing sites.
 */
export class SiteDirectory {
  private index: SiteIndex = indexSites([]);
  private list: Site[] = [];
  private stored: StoredHierarchy | undefined;
  private registry = new SiteKindRegistry(KINDS_2022);

  private constructor(
    private readonly repo: SitesRepo,
    private readonly hierarchy?: HierarchyRepo,
  ) {}

  /** Loaded from the registry; call reload() after changing it. */
  static async load(repo: SitesRepo, hierarchy?: HierarchyRepo): Promise<SiteDirectory> {
    const d = new SiteDirectory(repo, hierarchy);
    await d.reload();
    return d;
  }

  async reload(): Promise<void> {
    this.list = await this.repo.list();
    this.stored = await this.hierarchy?.get();
    if (this.stored) this.registry = new SiteKindRegistry(this.stored.kinds);
    // Relay groups naming a site the registry no longer has drop that site.
    const known = new Set(this.list.map((s) => s.id));
    const groups = this.stored?.relayGroups
      ?.map((g) => ({ ...g, siteIds: g.siteIds.filter((id) => known.has(id)) }))
      .filter((g) => g.siteIds.length > 0 && known.has(g.hubSiteId));
    this.index = indexSites(this.list, groups);
  }

  all(): readonly Site[] {
    return this.list;
  }

  get(id: string): Site | undefined {
    return this.index.byId.get(id);
  }

  /** The index the pure planners take (cascade, rollouts, access). */
  siteIndex(): SiteIndex {
    return this.index;
  }

  /** The site kinds of the registry's dataset. */
  kinds(): SiteKindRegistry {
    return this.registry;
  }

  /** Which dataset seeded the registry and its name; undefined for a registry without one. */
  dataset(): Pick<StoredHierarchy, 'dataset' | 'name'> | undefined {
    return this.stored ? { dataset: this.stored.dataset, name: this.stored.name } : undefined;
  }

  relayGroups(): readonly RelayGroup[] {
    return this.index.relayGroups;
  }

  /** The relay group whose hub the site's edge links through; null: straight to the core. */
  relayGroupOf(siteId: string): RelayGroup | null {
    return relayGroupOf(this.index, siteId);
  }

  relayGroup(id: string): RelayGroup | undefined {
    return this.index.relayGroups.find((g) => g.id === id);
  }

  /** The site and everything under it. */
  subtree(id: string): string[] {
    return subtreeIds(this.index, id);
  }

  /** True when `siteId` is `rootId` or below it. */
  isWithin(siteId: string, rootId: string): boolean {
    let site = this.index.byId.get(siteId);
    for (let hops = 0; site && hops <= this.list.length; hops++) {
      if (site.id === rootId) return true;
      site = site.parentId ? this.index.byId.get(site.parentId) : undefined;
    }
    return false;
  }
}
