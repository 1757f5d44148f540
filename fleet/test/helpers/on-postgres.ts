import t from 'tap';
import { startPostgres } from './postgres.js';
import { useRegistry } from './registry.js';

/**
 * Runs existing fleet test files, unchanged, on PostgreSQL: every fleet they
 * start gets a fresh database on one server started for the calling file.
 * Call it at the top level of a test file; the files load in order.
 */
export async function onPostgres(load: () => Promise<unknown>): Promise<void> {
  const server = await startPostgres(t);
  useRegistry(() => server.createDatabase());
  await load();
}
