// `npm run release:build` as an operator runs it: the CLI in a process of its
// own, from the repository, with the environment given (nothing inherited
// that the test did not mean: SOURCE_DATE_EPOCH is dropped unless given).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function releaseBuildCli(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const base = { ...process.env };
  delete base['SOURCE_DATE_EPOCH'];
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(repo, 'provisioning/src/release/build-cli.ts'), ...args],
    { cwd: repo, encoding: 'utf8', timeout: 180_000, env: { ...base, ...env } },
  );
}
