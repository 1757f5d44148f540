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

export class SitesRepo {
  private readonly stmts;

  constructor(private readonly db: FleetDb) {
    const s = db.sql;
    this.stmts = {
      all: s.prepare('SELECT id, name, kind, parent_id, address, contact FROM sites ORDER BY id'),
      get: s.prepare('SELECT id, name, kind, parent_id, address, contact FROM sites WHERE id = ?'),
      count: s.prepare('SELECT COUNT(*) AS n FROM sites'),
      upsert: s.prepare(`
        INSERT INTO sites (id, name, kind, parent_id, address, contact, created_at, updated_at)
        VALUES (@id, @name, @kind, @parentId, @address, @contact, @now, @now)
        ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent_id = excluded.parent_id,
          address = excluded.address, contact = excluded.contact, updated_at = excluded.updated_at`),
    };
  }

  list(): Site[] {
    return (this.stmts.all.all() as SiteRow[]).map(toSite);
  }

  get(id: string): Site | undefined {
    const r = this.stmts.get.get(id) as SiteRow | undefined;
    return r ? toSite(r) : undefined;
  }

  count(): number {
    return (this.stmts.count.get() as { n: number }).n;
  }

  /**
   * Inserts or updates every site in one transaction, parents first so the
   * foreign keys hold. Nothing is written if any row fails.
   */
  upsertMany(sites: readonly Site[]): void {
    const now = new Date().toISOString();
    const ordered = parentsFirst(sites);
    this.db.tx(() => {
      for (const site of ordered) {
        this.stmts.upsert.run({
          id: site.id,
          name: site.name,
          kind: site.kind,
          parentId: site.parentId,
          address: site.address ?? null,
          contact: site.contact ?? null,
          now,
        });
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
