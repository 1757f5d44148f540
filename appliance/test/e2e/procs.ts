import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

// Whole programs started as a user starts them (node + the tsx loader on the
// entry file), on 127.0.0.1 and ephemeral ports. Every process started here is
// killed in the test's teardown, stopped ones included.

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

export interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** `wrap`: a command the program runs under, e.g. `['ip', 'netns', 'exec', ns]` (a box behind a shaped link). */
export function startProgram(
  t: Test,
  entry: string,
  env: Record<string, string>,
  args: string[] = [],
  wrap: string[] = [],
): Proc {
  const argv = [process.execPath, '--import', 'tsx', path.join(ROOT, entry), ...args];
  const [cmd, ...rest] = [...wrap, ...argv] as [string, ...string[]];
  const child = spawn(cmd, rest, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const proc: Proc = {
    child,
    output: () => out,
    exited,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  t.teardown(async () => {
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await exited;
  });
  return proc;
}

export function tempDir(t: Test, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `diemcau-${prefix}-`));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 120_000,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Fleet {
  proc: Proc;
  httpPort: number;
  mqttPort: number;
  url: string;
  api<T>(method: string, p: string, body?: unknown): Promise<T>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `fleet/src/main.ts`; ports 0 on first start (read back from its log), fixed ones on a restart. */
export async function startFleet(
  t: Test,
  opts: { dataDir: string; httpPort?: number; mqttPort?: number; env?: Record<string, string>; host?: string },
): Promise<Fleet> {
  const host = opts.host ?? '127.0.0.1';
  const proc = startProgram(t, 'fleet/src/main.ts', {
    DIEMCAU_HOST: host,
    DIEMCAU_HTTP_PORT: String(opts.httpPort ?? 0),
    DIEMCAU_MQTT_PORT: String(opts.mqttPort ?? 0),
    DIEMCAU_DATA_DIR: opts.dataDir,
    DIEMCAU_ADMIN_TOKEN: ADMIN_TOKEN,
    DIEMCAU_LOG_LEVEL: 'info',
    ...opts.env,
  });
  const ports = await until(
    'the fleet to listen',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`fleet exited: ${proc.output().slice(-2000)}`);
      const line = proc
        .output()
        .split('\n')
        .find((l) => l.includes('"fleet listening"'));
      if (!line) return undefined;
      const j = JSON.parse(line) as { httpPort: number; mqttPort: number };
      return { httpPort: j.httpPort, mqttPort: j.mqttPort };
    },
    180_000,
  ).catch((err: Error) => {
    if (proc.child.exitCode !== null) throw new Error(`fleet exited early:\n${proc.output().slice(-3000)}`);
    throw err;
  });
  const url = `http://${host}:${ports.httpPort}`;
  return {
    proc,
    ...ports,
    url,
    async api<T>(method: string, p: string, body?: unknown): Promise<T> {
      const res = await fetch(`${url}${p}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    },
    async stop() {
      proc.kill('SIGTERM');
      await proc.exited;
    },
  };
}

export interface AgentProc extends Proc {
  dataDir: string;
  deviceId(): Promise<string>;
}

/** Starts `appliance/src/main.ts` with simulated hardware, as `npm run appliance` would. */
export function startAgent(
  t: Test,
  opts: { fleetUrl: string; dataDir: string; token?: string; env?: Record<string, string>; wrap?: string[] },
): AgentProc {
  const proc = startProgram(
    t,
    'appliance/src/main.ts',
    {
      DIEMCAU_FLEET_URL: opts.fleetUrl,
      DIEMCAU_DATA_DIR: opts.dataDir,
      DIEMCAU_HARDWARE: 'simulated',
      DIEMCAU_LOG_LEVEL: 'info',
      ...(opts.token ? { DIEMCAU_ENROLL_TOKEN: opts.token } : {}),
      ...opts.env,
    },
    [],
    opts.wrap ?? [],
  );
  return {
    ...proc,
    dataDir: opts.dataDir,
    deviceId: () =>
      until('the agent to enrol', async () => {
        if (proc.child.exitCode !== null) throw new Error(`agent exited: ${proc.output().slice(-2000)}`);
        const f = path.join(opts.dataDir, 'identity.json');
        return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as { deviceId: string }).deviceId : undefined;
      }),
  };
}

export interface AlertRow {
  id: string;
  type: string;
  deviceId: string | null;
  siteId: string | null;
  openedAt: string;
  resolvedAt: string | null;
}

export const alertsFor = async (fleet: Fleet, state: 'open' | 'resolved', deviceId: string): Promise<AlertRow[]> =>
  (await fleet.api<{ items: AlertRow[] }>('GET', `/api/v1/alerts?state=${state}`)).items.filter(
    (a) => a.deviceId === deviceId || JSON.stringify(a).includes(deviceId),
  );

export async function mintToken(fleet: Fleet, siteId: string): Promise<string> {
  return (await fleet.api<{ token: string }>('POST', `/api/v1/sites/${siteId}/enrollment-tokens`, { uses: 1 })).token;
}

/** Province-level sites (no district): one box down there is never a district outage. */
export async function provinceSites(fleet: Fleet, n: number): Promise<string[]> {
  const sites = (
    await fleet.api<{ items: { id: string; kind: string; parentId: string | null }[] }>('GET', '/api/v1/sites')
  ).items;
  return sites
    .filter((s) => s.parentId === null && s.kind !== 'district')
    .slice(0, n)
    .map((s) => s.id);
}

export const isOnline = async (fleet: Fleet, deviceId: string): Promise<boolean> =>
  (await fleet.api<{ online: boolean }>('GET', `/api/v1/devices/${deviceId}`)).online;
