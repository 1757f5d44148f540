import { parentsFirst, type TableInfo } from './catalogue.js';

// The importer's decision, apart from any I/O: given what the source holds
// and what the target holds, which tables are copied, in which order, and
// what stops the import before a single row is written. The executor
// (executor.ts) carries the plan out in one transaction.
//
// One importer, two uses: `move` takes an embedded install's whole registry
// into an empty PostgreSQL (npm run migrate-to-postgres); `merge` will take a
// second fleet's registry into a running one (issue 14), where rows meet rows
// already there and ids are mapped. Only `move` is planned today; a merge
// adds its own checks here and a row mapping to each step.

export type ImportMode = 'move';

export interface RegistryFacts {
  tables: TableInfo[];
  /** Rows per table. */
  counts: Record<string, number>;
  /** Migrations recorded by name. */
  migrations: string[];
}

export interface TableStep {
  table: string;
  /** Columns copied: those both sides have. */
  columns: string[];
  key: string[];
  rows: number;
  /** Rows must be written parents first (the table references itself). */
  selfReferencing: boolean;
  /** Source columns the target lacks: their values would be lost, so the plan refuses. */
  dropped: string[];
}

export interface ImportPlan {
  mode: ImportMode;
  steps: TableStep[];
  /** Anything here and the import does not start. */
  problems: string[];
  totalRows: number;
}

/** Bookkeeping tables that each side keeps for itself. */
const OWN_TABLES = new Set(['migrations']);

export function planImport(mode: ImportMode, source: RegistryFacts, target: RegistryFacts): ImportPlan {
  const problems: string[] = [];
  const targetTables = new Map(target.tables.map((t) => [t.name, t]));
  const known = new Set(target.migrations);
  const unknown = source.migrations.filter((m) => !known.has(m));
  if (unknown.length > 0)
    problems.push(`the source has migrations the target lacks (a newer fleet wrote it): ${unknown.join(', ')}`);

  const tables = source.tables.filter((t) => !OWN_TABLES.has(t.name));
  const ordered = parentsFirst(tables);
  if (!ordered) problems.push('the source tables reference each other in a cycle');
  const steps: TableStep[] = [];
  for (const t of ordered ?? tables) {
    const there = targetTables.get(t.name);
    if (!there) {
      problems.push(`table ${t.name} is missing in the target`);
      continue;
    }
    const columns = t.columns.filter((c) => there.columns.includes(c));
    const dropped = t.columns.filter((c) => !there.columns.includes(c));
    if (dropped.length > 0) problems.push(`table ${t.name}: the target has no column ${dropped.join(', ')}`);
    const rows = source.counts[t.name] ?? 0;
    // A move is into an empty registry: rows already there would mix two fleets' ids.
    if (mode === 'move' && (target.counts[t.name] ?? 0) > 0)
      problems.push(`table ${t.name} in the target is not empty (${target.counts[t.name]} rows)`);
    steps.push({
      table: t.name,
      columns,
      key: t.key.filter((k) => columns.includes(k)),
      rows,
      selfReferencing: t.references.includes(t.name),
      dropped,
    });
  }
  for (const s of steps) if (s.key.length === 0) problems.push(`table ${s.table} has no primary key to read it by`);
  return { mode, steps, problems, totalRows: steps.reduce((n, s) => n + s.rows, 0) };
}
