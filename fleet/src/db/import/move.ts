import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { FleetConfig } from '../../config.js';
import { PostgresDb } from '../postgres.js';
import { SqliteDb } from '../sqlite.js';
import { ALL_MIGRATIONS } from './catalogue.js';
import { executeImport, type ImportProgress, type ImportResult } from './executor.js';
import { registryFacts } from './facts.js';
import { planImport, type ImportPlan } from './plan.js';

/**
 * An embedded install's registry into PostgreSQL (npm run migrate-to-postgres):
 * the SQLite file read as it is, the target given the whole schema, then the
 * plan; with `apply`, every row in one transaction. Stop the fleet first: a
 * fleet still writing to the file would write rows the copy does not have.
 */
export interface MoveOptions {
  config: Pick<FleetConfig, 'dataDir' | 'dbFile' | 'databaseUrl'>;
  apply: boolean;
  log: Logger;
  /** The plan, before anything is written. */
  onPlan?: (plan: ImportPlan, source: string) => void;
  onProgress?: (p: ImportProgress) => void;
  batchRows?: number;
}

export interface MoveOutcome {
  source: string;
  plan: ImportPlan;
  result: ImportResult | null;
}

export async function moveToPostgres(o: MoveOptions): Promise<MoveOutcome> {
  if (o.config.databaseUrl === undefined)
    throw new Error('DIEMCAU_DATABASE_URL is not set: where should the registry go?');
  if (o.config.dbFile === ':memory:')
    throw new Error('the registry is in memory (DIEMCAU_DB_FILE=:memory:): there is nothing to move');
  const file = resolve(o.config.dataDir, o.config.dbFile);
  const source = SqliteDb.openReadOnly(file, o.log);
  try {
    const target = await PostgresDb.open({ url: o.config.databaseUrl, poolSize: 2 }, o.log);
    try {
      await target.migrate(ALL_MIGRATIONS);
      const plan = planImport('move', await registryFacts(source), await registryFacts(target));
      o.onPlan?.(plan, file);
      if (!o.apply || plan.problems.length > 0) return { source: file, plan, result: null };
      const result = await executeImport(plan, source, target, {
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        ...(o.batchRows ? { batchRows: o.batchRows } : {}),
      });
      return { source: file, plan, result };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
