// A program started as a user starts it (node with tsx, from the repository's
// root) and run until it exits: for the tests of what a program refuses at
// start (bad settings), whose whole answer is an exit code and its stderr.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface Exited {
  /** null: it was still running after the time allowed (then killed). */
  code: number | null;
  stderr: string;
}

/** Runs entry (a path from the repository's root) with exactly env; a program still running at teardown is killed. */
export async function runToExit(
  t: { teardown(fn: () => void): void },
  entry: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<Exited> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  t.teardown(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  proc.stdout.resume();
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve(null);
    }, timeoutMs);
    proc.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, stderr };
}
