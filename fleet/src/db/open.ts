import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { FleetConfig } from '../config.js';
import type { FleetDb } from './database.js';
import { PostgresDb } from './postgres.js';
import { SqliteDb } from './sqlite.js';

/**
 * The registry the settings ask for: PostgreSQL when DIEMCAU_DATABASE_URL is
 * set (cluster mode), else the SQLite file in the data dir. Either way with
 * the core migrations applied; the areas apply theirs when they register.
 */
export function openFleetDb(
  config: Pick<FleetConfig, 'databaseUrl' | 'databasePoolSize' | 'dataDir' | 'dbFile'>,
  log: Logger,
): Promise<FleetDb> {
  if (config.databaseUrl !== undefined)
    return PostgresDb.open({ url: config.databaseUrl, poolSize: config.databasePoolSize }, log);
  return SqliteDb.open(config.dbFile === ':memory:' ? ':memory:' : resolve(config.dataDir, config.dbFile), log);
}
