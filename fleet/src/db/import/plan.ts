import { parentsFirst, type TableInfo } from './catalogue.js';

// The importer's decision, apart from any I/O: given what the source holds
// and what the target holds, which tables are copied, in which order, and
// what stops the import before a single row is written. The executor
// (executor.ts) carries the plan out in one transaction.
//
// One importer, two uses: `move` takes an embedded install's whole registry
// into an empty PostgreSQL (npm run migrate-to-postgres); `merge` takes a
// second fleet's registry into a running one (npm run merge-fleet), where
// rows meet rows already there: each table has a rule (copied, with its rows
// mapped by merge-rows.ts, or left out and why), a table without one stops
// the merge, and the conflicts between the two registries are found by
// merge-map.ts before anything is written.

export type ImportMode = 'move' | 'merge';

/** What a merge does with one table. */
export type TableRule = { action: 'copy' } | { action: 'skip'; why: string };

export interface SkippedTable {
  table: string;
  rows: number;
  why: string;
}

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
  /** Tables a merge leaves out, with their rows and why. */
  skipped: SkippedTable[];
}

/** Bookkeeping tables that each side keeps for itself. */
const OWN_TABLES = new Set(['migrations']);

export function planImport(
  mode: ImportMode,
  source: RegistryFacts,
  target: RegistryFacts,
  rules: Readonly<Record<string, TableRule>> = {},
): ImportPlan {
  const problems: string[] = [];
  const skipped: SkippedTable[] = [];
  const targetTables = new Map(target.tables.map((t) => [t.name, t]));
  const known = new Set(target.migrations);
  const unknown = source.migrations.filter((m) => !known.has(m));
  if (unknown.length > 0)
    problems.push(`the source has migrations the target lacks (a newer fleet wrote it): ${unknown.join(', ')}`);

  const tables = source.tables.filter((t) => {
    if (OWN_TABLES.has(t.name)) return false;
    if (mode === 'move') return true;
    const rule = rules[t.name];
    // Fail closed: a table nobody said how to merge (a newer area's) is not guessed at.
    if (!rule) problems.push(`table ${t.name}: no rule says how to merge it`);
    else if (rule.action === 'skip') skipped.push({ table: t.name, rows: source.counts[t.name] ?? 0, why: rule.why });
    return rule?.action === 'copy';
  });
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
  return { mode, steps, problems, totalRows: steps.reduce((n, s) => n + s.rows, 0), skipped };
}
