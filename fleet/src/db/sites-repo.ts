import type { Site } from '@diemcau/shared';
import type { FleetDb } from './database.js';

interface SiteRow {
  id: string;
  name: string;
  kind: string;
  parent_id: string | null;
  address: string | null;
  contact: string | null;
}

const toSite = (r: SiteRow): Site => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  parentId: r.parent_id,
  ...(r.address === null ? {} : { address: r.address }),
  ...(r.contact === null ? {} : { contact: r.contact }),
});

const COLS = 'id, name, kind, parent_id, address, contact';

export class SitesRepo {
  constructor(private readonly db: FleetDb) {}

  async list(): Promise<Site[]> {
    return (await this.db.all<SiteRow>(`SELECT ${COLS} FROM sites ORDER BY id`)).map(toSite);
  }

  async get(id: string): Promise<Site | undefined> {
    const r = await this.db.get<SiteRow>(`SELECT ${COLS} FROM sites WHERE id = ?`, [id]);
    return r ? toSite(r) : undefined;
  }

  async count(): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM sites'))!.n;
  }

  /**
   * Inserts or updates every site in one transaction, parents first so the
   * foreign keys hold. Nothing is written if any row fails.
   */
  async upsertMany(sites: readonly Site[]): Promise<void> {
    const now = new Date().toISOString();
    const ordered = parentsFirst(sites);
    await this.db.tx(async () => {
      for (const site of ordered) {
        await this.db.run(
          `INSERT INTO sites (id, name, kind, parent_id, address, contact, created_at, updated_at)
           VALUES (@id, @name, @kind, @parentId, @address, @contact, @now, @now)
           ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent_id = excluded.parent_id,
             address = excluded.address, contact = excluded.contact, updated_at = excluded.updated_at`,
          {
            id: site.id,
            name: site.name,
            kind: site.kind,
            parentId: site.parentId,
            address: site.address ?? null,
            contact: site.contact ?? null,
            now,
          },
        );
      }
    });
  }
}

/** Sites ordered so that a parent in the list comes before its children, at any depth. */
function parentsFirst(sites: readonly Site[]): Site[] {
  const inList = new Map(sites.map((s) => [s.id, s]));
  const out: Site[] = [];
  const done = new Set<string>();
  const visit = (s: Site, depth: number): void => {
    if (done.has(s.id) || depth > sites.length) return;
    const parent = s.parentId === null ? undefined : inList.get(s.parentId);
    if (parent) visit(parent, depth + 1);
    done.add(s.id);
    out.push(s);
  };
  for (const s of sites) visit(s, 0);
  return out;
}
