import type { FleetDb } from '../database.js';
import type { ImportPlan, TableStep } from './plan.js';

// Carries an import plan out: reads each table from the source a batch at a
// time in key order, writes it to the target, all in one transaction on the
// target (a failure anywhere leaves it as it was). PostgreSQL's identity
// counters are moved past the imported ids, so the next alert or audit row
// does not collide with one that came in.

export interface ImportProgress {
  table: string;
  done: number;
  rows: number;
  totalDone: number;
  totalRows: number;
}

export interface ImportOptions {
  /** Rows read and written per statement. */
  batchRows?: number;
  onProgress?: (p: ImportProgress) => void;
  /**
   * Changes a row on its way (a merge maps ids and renames sites); null
   * leaves it out. A move copies rows as they are.
   */
  mapRow?: (table: string, row: Record<string, unknown>) => Record<string, unknown> | null;
  /**
   * A row whose key the target has already: `fail` (the default) rolls the
   * whole import back; `skip` leaves the target's row (a merge's second pass).
   */
  onConflict?: 'fail' | 'skip';
}

export interface ImportResult {
  /** Rows written per table. */
  written: Record<string, number>;
  totalRows: number;
}

type Row = Record<string, unknown>;

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** One batch of a table in key order, after the key `after` (none: from the start). */
function readBatch(db: FleetDb, step: TableStep, after: unknown[] | null, limit: number): Promise<Row[]> {
  const cols = step.columns.map(quote).join(', ');
  const key = step.key.map(quote).join(', ');
  const where = after === null ? '' : `WHERE (${key}) > (${step.key.map(() => '?').join(', ')})`;
  return db.all<Row>(`SELECT ${cols} FROM ${quote(step.table)} ${where} ORDER BY ${key} LIMIT ?`, [
    ...(after ?? []),
    limit,
  ]);
}

/** Rows written (a skipped conflict is not). */
async function writeRows(db: FleetDb, step: TableStep, rows: readonly Row[], skip: boolean): Promise<number> {
  if (rows.length === 0) return 0;
  const cols = step.columns.map(quote).join(', ');
  const one = `(${step.columns.map(() => '?').join(', ')})`;
  const values = rows.flatMap((r) => step.columns.map((c) => r[c] ?? null));
  const conflict = skip ? ' ON CONFLICT DO NOTHING' : '';
  const r = await db.run(
    `INSERT INTO ${quote(step.table)} (${cols}) VALUES ${rows.map(() => one).join(', ')}${conflict}`,
    values,
  );
  return r.changes;
}

/** A self-referencing table (sites and their parents): all its rows, parents before children. */
function parentsBeforeChildren(step: TableStep, rows: Row[], parentColumn: string): Row[] {
  const key = step.key[0]!;
  const byId = new Map(rows.map((r) => [r[key], r]));
  const done = new Set<unknown>();
  const out: Row[] = [];
  const visit = (r: Row, depth: number): void => {
    if (done.has(r[key]) || depth > rows.length) return;
    const parent = byId.get(r[parentColumn]);
    if (parent) visit(parent, depth + 1);
    done.add(r[key]);
    out.push(r);
  };
  for (const r of rows) visit(r, 0);
  return out;
}

export async function executeImport(
  plan: ImportPlan,
  source: FleetDb,
  target: FleetDb,
  opts: ImportOptions = {},
): Promise<ImportResult> {
  if (plan.problems.length > 0) throw new Error(`import refused: ${plan.problems.join('; ')}`);
  // PostgreSQL takes at most 65,535 parameters a statement.
  const widest = Math.max(1, ...plan.steps.map((s) => s.columns.length));
  const batch = Math.max(1, Math.min(opts.batchRows ?? 500, Math.floor(60_000 / widest)));
  const written: Record<string, number> = {};
  const skip = opts.onConflict === 'skip';
  let totalDone = 0;
  await target.tx(async () => {
    for (const step of plan.steps) {
      let done = 0;
      const report = (): void =>
        opts.onProgress?.({ table: step.table, done, rows: step.rows, totalDone, totalRows: plan.totalRows });
      const map = (rows: Row[]): Row[] =>
        opts.mapRow ? rows.map((r) => opts.mapRow!(step.table, r)).filter((r): r is Row => r !== null) : rows;
      if (step.selfReferencing) {
        // Only the hierarchy refers to itself, and it is small: read it whole.
        const all: Row[] = [];
        for (let after: unknown[] | null = null; ;) {
          const rows = await readBatch(source, step, after, batch);
          all.push(...rows);
          if (rows.length < batch) break;
          after = step.key.map((k) => rows[rows.length - 1]![k]);
        }
        const ordered = map(
          parentsBeforeChildren(step, all, step.columns.includes('parent_id') ? 'parent_id' : step.key[0]!),
        );
        for (let i = 0; i < ordered.length; i += batch)
          done += await writeRows(target, step, ordered.slice(i, i + batch), skip);
        totalDone += all.length;
      } else {
        for (let after: unknown[] | null = null; ;) {
          const rows = await readBatch(source, step, after, batch);
          done += await writeRows(target, step, map(rows), skip);
          totalDone += rows.length;
          report();
          if (rows.length < batch) break;
          after = step.key.map((k) => rows[rows.length - 1]![k]);
        }
      }
      written[step.table] = done;
      report();
      if (target.dialect === 'postgres') await advanceIdentity(target, step.table);
    }
  });
  return { written, totalRows: totalDone };
}

async function advanceIdentity(db: FleetDb, table: string): Promise<void> {
  const ids = await db.all<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND is_identity = 'YES'`,
    [table],
  );
  for (const { column_name: col } of ids) {
    await db.get(
      `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT MAX(${quote(col)}) FROM ${quote(table)}), 0) + 1, false)`,
      [table, col],
    );
  }
}
