// A real Redis for tests (Debian's redis-server): on a free port of
// 127.0.0.1, in a temporary directory, nothing saved to disk, stopped and
// removed on teardown (also when the test fails).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server (as a crash would: SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (after kill(): empty, as nothing is saved to disk). */
  restart(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** A port that was free a moment ago (the server binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
}

function spawnServer(port: number, dir: string): { child: ChildProcess; output: () => string } {
  const child = spawn(
    REDIS_SERVER,
    // prettier-ignore
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--loglevel', 'warning'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

export async function startRedis(t: Teardown): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'diemcau-redis-'));
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let server = spawnServer(port, dir);
    if (!(await waitReady(port, server.child, 10_000))) {
      server.child.kill('SIGKILL');
      await exited(server.child);
      if (/address already in use/i.test(server.output())) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server did not start: ${server.output().trim()}`);
    }
    const kill = async (): Promise<void> => {
      server.child.kill('SIGKILL');
      await exited(server.child);
    };
    const restart = async (): Promise<void> => {
      await kill();
      server = spawnServer(port, dir);
      if (!(await waitReady(port, server.child, 10_000)))
        throw new Error(`redis-server did not start again on ${port}: ${server.output().trim()}`);
    };
    t.teardown(async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    });
    return { url: `redis://127.0.0.1:${port}`, port, kill, restart };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('redis-server: no free port after 3 attempts');
}

/** Polls with PING until the server answers, it exits, or the time is up. */
async function waitReady(port: number, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && child.exitCode === null) {
    const r = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => undefined);
    const ok = await r
      .connect()
      .then(() => r.ping())
      .then(
        () => true,
        () => false,
      );
    r.disconnect();
    if (ok) return true;
    await new Promise((res) => setTimeout(res, 50));
  }
  return false;
}
