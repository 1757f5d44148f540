import type { FleetDb } from '../database.js';
import type { TableInfo } from './catalogue.js';
import type { RegistryFacts } from './plan.js';

// What a registry holds, read the same way from either engine: its tables
// with columns, keys and foreign keys, rows per table, migrations applied.

async function sqliteTables(db: FleetDb): Promise<TableInfo[]> {
  const names = await db.all<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  );
  const out: TableInfo[] = [];
  for (const { name } of names) {
    const cols = await db.all<{ name: string; pk: number }>(`SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, [
      name,
    ]);
    const fks = await db.all<{ table: string }>(`SELECT "table" FROM pragma_foreign_key_list(?)`, [name]);
    out.push({
      name,
      columns: cols.map((c) => c.name),
      key: cols
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
      references: [...new Set(fks.map((f) => f.table))],
    });
  }
  return out;
}

async function postgresTables(db: FleetDb): Promise<TableInfo[]> {
  const cols = await db.all<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  const keys = await db.all<{ table_name: string; column_name: string }>(
    `SELECT k.table_name, k.column_name FROM information_schema.table_constraints c
       JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema
     WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() ORDER BY k.table_name, k.ordinal_position`,
  );
  const fks = await db.all<{ table_name: string; referenced: string }>(
    `SELECT DISTINCT c.table_name, u.table_name AS referenced FROM information_schema.table_constraints c
       JOIN information_schema.constraint_column_usage u ON u.constraint_name = c.constraint_name AND u.table_schema = c.table_schema
     WHERE c.constraint_type = 'FOREIGN KEY' AND c.table_schema = current_schema()`,
  );
  const byName = new Map<string, TableInfo>();
  for (const c of cols) {
    const t = byName.get(c.table_name) ?? { name: c.table_name, columns: [], key: [], references: [] };
    t.columns.push(c.column_name);
    byName.set(c.table_name, t);
  }
  for (const k of keys) byName.get(k.table_name)?.key.push(k.column_name);
  for (const f of fks) byName.get(f.table_name)?.references.push(f.referenced);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

export async function registryFacts(db: FleetDb): Promise<RegistryFacts> {
  const tables = db.dialect === 'sqlite' ? await sqliteTables(db) : await postgresTables(db);
  const counts: Record<string, number> = {};
  for (const t of tables) counts[t.name] = (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM "${t.name}"`))!.n;
  const migrations = tables.some((t) => t.name === 'migrations')
    ? (await db.all<{ name: string }>('SELECT name FROM migrations')).map((r) => r.name)
    : [];
  return { tables, counts, migrations };
}
