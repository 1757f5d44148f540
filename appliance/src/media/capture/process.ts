// The one owner of a capture child process (ffmpeg for the sound, GStreamer for
// the picture): spawns it, keeps the tail of its stderr for error messages,
// turns an unexpected exit into a typed error and closes it idempotently
// (SIGTERM, then SIGKILL if it lingers).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Logger } from 'pino';
import { DiemcauError } from '@diemcau/shared';
import { Events } from '@diemcau/shared';

const STDERR_LINES = 20;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p)) ?? null;
const KILL_AFTER_MS = 2000;

export interface CaptureProcessOptions {
  /** Binary to run (ffmpeg, gst-launch-1.0); overridable for hosts where it is elsewhere. */
  bin: string;
  args: string[];
  log: Logger;
  /** What this process is for, in logs and errors ("ingest site-12"). */
  label: string;
  /** Called with each line the process writes on file descriptor 3 (ffmpeg's level print, ffmpeg/args.ts). */
  onFd3Line?: (line: string) => void;
}

export class CaptureProcess {
  /** 'exit' fires once; `error` is null only when close() asked for it. */
  readonly events = new Events<{ exit: [DiemcauError | null] }>();
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  private closing = false;
  private exited = false;
  private readonly exitPromise: Promise<void>;

  constructor(private readonly opts: CaptureProcessOptions) {
    const args = opts.args;
    // With setpriv, the kernel kills the capture if the edge dies without closing it
    // (SIGKILL, crash): no orphaned encoder keeps the camera busy.
    this.child = spawn(
      SETPRIV ? SETPRIV : opts.bin,
      SETPRIV ? ['--pdeathsig', 'KILL', '--', opts.bin, ...args] : args,
      {
        stdio: ['ignore', 'ignore', 'pipe', opts.onFd3Line ? 'pipe' : 'ignore'],
      },
    );
    const fd3 = this.child.stdio[3];
    if (opts.onFd3Line && fd3 && 'setEncoding' in fd3) {
      const onLine = opts.onFd3Line;
      let rest = '';
      fd3.setEncoding('utf8');
      fd3.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
    }
    let partial = '';
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.remember(line);
    });
    this.exitPromise = new Promise((resolve) => {
      // 'error' covers a missing binary (ENOENT): no 'exit' follows it.
      this.child.on('error', (err) =>
        this.finish(
          new DiemcauError('APPL_ERR_MEDIA', `${opts.label}: cannot run ${opts.bin}`, { cause: err }),
          resolve,
        ),
      );
      this.child.on('exit', (code, signal) => {
        const err = this.closing
          ? null
          : new DiemcauError(
              'APPL_ERR_MEDIA',
              `${opts.label}: ${opts.bin} exited (${code ?? signal}): ${this.stderrTail.at(-1) ?? 'no output'}`,
              {
                details: { code, signal, stderr: [...this.stderrTail] },
              },
            );
        this.finish(err, resolve);
      });
    });
    opts.log.debug({ pid: this.child.pid, label: opts.label, bin: opts.bin }, 'capture process started');
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get running(): boolean {
    return !this.exited;
  }
  get stderr(): readonly string[] {
    return this.stderrTail;
  }

  /** Stops the process; resolves once it has exited. Safe to call many times. */
  async close(): Promise<void> {
    if (!this.exited && !this.closing) {
      this.closing = true;
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), KILL_AFTER_MS);
      timer.unref();
      await this.exitPromise;
      clearTimeout(timer);
    }
    await this.exitPromise;
  }

  private remember(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_LINES) this.stderrTail.shift();
  }

  private finish(err: DiemcauError | null, resolve: () => void): void {
    if (this.exited) return;
    this.exited = true;
    if (err) this.opts.log.warn({ err, label: this.opts.label }, 'capture process exited unexpectedly');
    this.events.emit('exit', err);
    resolve();
  }
}
