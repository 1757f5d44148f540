// Which registry startTestFleet gives a fleet: the embedded SQLite file in its
// data dir by default; with useRegistry(), a PostgreSQL database per data dir
// (a test that restarts a fleet on the same data dir finds the same registry).
// db/on-postgres/*.test.ts run existing API tests that way. One process,
// one choice: set once, at the top of a file, before the tests load.
let makeDatabaseUrl: (() => Promise<string>) | undefined;
const byDataDir = new Map<string, Promise<string>>();

export function useRegistry(make: () => Promise<string>): void {
  makeDatabaseUrl = make;
}

/** Settings for a test fleet's registry: none for SQLite. */
export async function registrySettings(dataDir: string): Promise<{ databaseUrl?: string }> {
  if (!makeDatabaseUrl) return {};
  let url = byDataDir.get(dataDir);
  if (!url) byDataDir.set(dataDir, (url = makeDatabaseUrl()));
  return { databaseUrl: await url };
}
