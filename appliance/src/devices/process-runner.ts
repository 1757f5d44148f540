import { spawn } from 'node:child_process';
import { DiemcauError } from '@diemcau/shared';

// The one owner of the short-lived tools the hardware checks run (ffmpeg,
// cec-client, systemctl): it numbers runs, enforces a timeout and an output
// cap, kills what is still running on close, and turns exit codes into typed
// errors so callers never parse child_process failures themselves.

export interface RunOptions {
  /** Written to stdin, then stdin is closed. */
  input?: string;
  timeoutMs: number;
  /** Stdout beyond this is an error: a stuck camera must not fill memory. */
  maxStdoutBytes?: number;
}

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export type RunFailure = 'not-installed' | 'timeout' | 'exit' | 'too-much-output' | 'closed' | 'spawn';

export interface RunErrorDetails {
  failure: RunFailure;
  command: string;
  code?: number | null;
  stderr?: string;
}

export const runFailure = (err: unknown): RunFailure | null => {
  if (!(err instanceof DiemcauError)) return null;
  const d = err.details as Partial<RunErrorDetails> | undefined;
  return d?.failure ?? null;
};

const STDERR_KEEP = 4000;

export class ProcessRunner {
  private seq = 0;
  private readonly running = new Map<number, (why: RunFailure) => void>();
  private closed = false;

  /** Runs to completion; a non-zero exit is an error carrying the tail of stderr. */
  async run(command: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
    const r = await this.spawn(command, args, opts);
    if (r.code !== 0) throw fail('exit', command, `exited with ${r.code}: ${lastLine(r.stderr)}`, r.code, r.stderr);
    return r;
  }

  /** Like run(), but a non-zero exit is a result, for tools whose exit code carries meaning. */
  spawn(command: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
    if (this.closed) return Promise.reject(fail('closed', command, 'runner is closed'));
    const id = ++this.seq;
    const max = opts.maxStdoutBytes ?? 64 * 1024 * 1024;
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let size = 0;
      let stderr = '';
      let failure: RunFailure | null = null;
      const timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
      const stop = (why: RunFailure) => {
        failure ??= why;
        child.kill('SIGKILL');
      };
      this.running.set(id, stop);
      child.stdout!.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) return stop('too-much-output');
        chunks.push(c);
      });
      child.stderr!.on('data', (c: Buffer) => {
        stderr = (stderr + c.toString('utf8')).slice(-STDERR_KEEP);
      });
      // EPIPE when the tool exits before reading its input is not our error.
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input ?? '');
      child.on('error', (err: NodeJS.ErrnoException) => {
        failure ??= err.code === 'ENOENT' ? 'not-installed' : 'spawn';
        clearTimeout(timer);
        this.running.delete(id);
        reject(fail(failure, command, err.message, null, stderr, err));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        this.running.delete(id);
        if (failure === 'not-installed' || failure === 'spawn') return; // already rejected
        if (failure) return reject(fail(failure, command, failure, code, stderr));
        resolve({ code: code ?? -1, stdout: Buffer.concat(chunks), stderr });
      });
    });
  }

  /** Kills every run still going; their promises reject with failure 'closed'. Idempotent. */
  close(): void {
    this.closed = true;
    for (const stop of this.running.values()) stop('closed');
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

function fail(
  failure: RunFailure,
  command: string,
  detail: string,
  code?: number | null,
  stderr?: string,
  cause?: unknown,
) {
  const details: RunErrorDetails = { failure, command, code, stderr: stderr?.slice(-500) };
  return new DiemcauError('APPL_ERR_HARDWARE', `${command}: ${detail}`, { cause, details });
}
