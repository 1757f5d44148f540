import type { RelayGroup, SiteKindDef } from '@diemcau/shared';
import type { FleetDb } from './database.js';

/** What the registry keeps of its dataset besides the sites: kinds and relay groups. */
export interface StoredHierarchy {
  dataset: string;
  name: { vi: string; en: string };
  kinds: SiteKindDef[];
  /** Null: none declared, derived from the tree. */
  relayGroups: RelayGroup[] | null;
}

interface Row {
  dataset: string;
  name: string;
  kinds: string;
  relay_groups: string | null;
}

export class HierarchyRepo {
  constructor(private readonly db: FleetDb) {}

  async get(): Promise<StoredHierarchy | undefined> {
    const r = await this.db.get<Row>('SELECT dataset, name, kinds, relay_groups FROM hierarchy WHERE id = 1');
    if (!r) return undefined;
    // Written only by put() from a validated dataset.
    return {
      dataset: r.dataset,
      name: JSON.parse(r.name) as StoredHierarchy['name'],
      kinds: JSON.parse(r.kinds) as SiteKindDef[],
      relayGroups: r.relay_groups === null ? null : (JSON.parse(r.relay_groups) as RelayGroup[]),
    };
  }

  async put(h: StoredHierarchy): Promise<void> {
    await this.db.run(
      `INSERT INTO hierarchy (id, dataset, name, kinds, relay_groups, updated_at) VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET dataset = excluded.dataset, name = excluded.name, kinds = excluded.kinds,
         relay_groups = excluded.relay_groups, updated_at = excluded.updated_at`,
      [
        h.dataset,
        JSON.stringify(h.name),
        JSON.stringify(h.kinds),
        h.relayGroups === null ? null : JSON.stringify(h.relayGroups),
        new Date().toISOString(),
      ],
    );
  }
}
