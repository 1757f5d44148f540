import { CORE_MIGRATIONS, type Migration } from '../migrations.js';
import { COMMAND_MIGRATIONS } from '../../commands/repo.js';
import { OTA_MIGRATIONS } from '../../ota/repo.js';
import { MEETINGS_MIGRATIONS } from '../../meetings/repository.js';
import { HEALTH_MIGRATIONS } from '../../health/self-tests.js';
import { ACK_MIGRATIONS } from '../../ui/acks.js';
import { READINESS_MIGRATIONS } from '../../readiness/repository.js';

/**
 * Every migration of the registry, core and areas, in the order a fleet
 * applies them: an importer's target gets the whole schema before any row.
 */
export const ALL_MIGRATIONS: readonly Migration[] = [
  ...CORE_MIGRATIONS,
  ...COMMAND_MIGRATIONS,
  ...OTA_MIGRATIONS,
  ...MEETINGS_MIGRATIONS,
  ...HEALTH_MIGRATIONS,
  ...ACK_MIGRATIONS,
  ...READINESS_MIGRATIONS,
];

/** One table as the importer sees it: its columns, its key, and the tables its rows point at. */
export interface TableInfo {
  name: string;
  columns: string[];
  /** Primary key columns, in key order: rows are read in this order, a batch at a time. */
  key: string[];
  /** Tables this one has foreign keys to (itself included, e.g. a site's parent). */
  references: string[];
}

/**
 * Tables ordered so that every table comes after the ones it references
 * (a table referencing itself is handled row by row, parents first).
 * Returns null for a cycle between tables, which our schema does not have.
 */
export function parentsFirst(tables: readonly TableInfo[]): TableInfo[] | null {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const out: TableInfo[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: TableInfo): boolean => {
    const s = state.get(t.name);
    if (s === 'done') return true;
    if (s === 'visiting') return false;
    state.set(t.name, 'visiting');
    for (const r of t.references) {
      const parent = byName.get(r);
      if (parent && parent !== t && !visit(parent)) return false;
    }
    state.set(t.name, 'done');
    out.push(t);
    return true;
  };
  for (const t of [...tables].sort((a, b) => (a.name < b.name ? -1 : 1))) if (!visit(t)) return null;
  return out;
}
