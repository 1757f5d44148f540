// Fleet nodes as separate processes (`fleet/src/main.ts`, as an operator
// starts them), for the cluster tests that kill or stop a node: each node's
// output is kept for failure messages, and every process is killed and
// awaited at teardown, also when the test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ADMIN_TOKEN, waitFor } from './fleet.js';
import { startPostgres } from './postgres.js';
import { freePort, startRedis, type TestRedis } from './redis.js';

const ROOT = resolve(import.meta.dirname, '../../..');
export const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

type Teardown = { teardown(fn: () => unknown): void };

export interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

/** A TypeScript program of the repository in its own process (killed at teardown). */
export function run(t: Teardown, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, output: () => out, exited };
}

/**
 * The agent's simulator with `boxes` boxes (one site each) enrolled on `node`,
 * its identities under dataDir/sim-<node>: the boxes of the cluster tests.
 */
export function runSim(
  t: Teardown,
  node: Pick<Node, 'base' | 'name'>,
  dataDir: string,
  boxes: number,
  telemetryIntervalS: number,
): Proc {
  const args = ['--fleet-url', node.base, '--admin-token', ADMIN_TOKEN, '--devices', String(boxes)];
  args.push('--sites', String(boxes), '--data-dir', join(dataDir, `sim-${node.name}`));
  args.push('--telemetry-interval', String(telemetryIntervalS), '--keepalive', '5', '--log-level', 'error');
  return run(t, ['appliance/src/sim.ts', ...args], {});
}

export interface Node {
  name: string;
  base: string;
  mqttUrl: string;
  proc: Proc;
}

export interface Health {
  devicesOnline: number;
  mqttClients: number;
  leader: boolean;
  node: string;
}

export async function get<T>(node: Pick<Node, 'base'>, path: string): Promise<T> {
  const res = await fetch(`${node.base}${path}`, { headers: auth, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

export async function post<T>(node: Pick<Node, 'base'>, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${node.base}${path}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The node's health, or undefined while it does not answer (stopped, dead, starting). */
export const health = (node: Pick<Node, 'base'>): Promise<Health | undefined> =>
  get<Health>(node, '/healthz').catch(() => undefined);

/** Ports for the given nodes, and the broker list every box is told. */
export async function nodePorts<N extends string>(names: readonly N[]) {
  const ports = {} as Record<N, { http: number; mqtt: number }>;
  for (const n of names) ports[n] = { http: await freePort(), mqtt: await freePort() };
  const urls = names.map((n) => `mqtt://127.0.0.1:${ports[n].mqtt}`).join(',');
  return { ports, urls };
}

/** Starts one node and waits until it answers. */
export async function startNode(
  t: Teardown,
  name: string,
  ports: { http: number; mqtt: number },
  env: Record<string, string>,
): Promise<Node> {
  const proc = run(t, ['fleet/src/main.ts'], {
    DIEMCAU_HTTP_PORT: String(ports.http),
    DIEMCAU_MQTT_PORT: String(ports.mqtt),
    DIEMCAU_HOST: '127.0.0.1',
    DIEMCAU_ADMIN_TOKEN: ADMIN_TOKEN,
    DIEMCAU_LOG_LEVEL: 'warn',
    DIEMCAU_NODE_ID: `node-${name}`,
    DIEMCAU_PUBLIC_MQTT_URL: `mqtt://127.0.0.1:${ports.mqtt}`,
    // Every box logs in from 127.0.0.1.
    DIEMCAU_MQTT_MAX_LOGINS_PER_DEVICE_PER_MIN: '0',
    DIEMCAU_MQTT_SLOW_AFTER_REFUSALS_PER_SEC: '0',
    ...env,
  });
  const node: Node = { name, base: `http://127.0.0.1:${ports.http}`, mqttUrl: `mqtt://127.0.0.1:${ports.mqtt}`, proc };
  await waitFor(async () => (await health(node))?.node, 60_000, `node ${name} up\n${proc.output()}`);
  return node;
}

/**
 * Two nodes, a and b, on one PostgreSQL database and one Redis, with a data
 * directory for the simulators' identities and quick heartbeats, leases and
 * node timeouts; `env` adds to or overrides the nodes' settings.
 */
export async function pgRedisPair(
  t: Teardown,
  env: Record<string, string>,
): Promise<{ redis: TestRedis; dataDir: string; start(name: 'a' | 'b'): Promise<Node> }> {
  const redis = await startRedis(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-pair-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const dbUrl = await (await startPostgres(t)).createDatabase();
  const { ports, urls } = await nodePorts(['a', 'b'] as const);
  const start = (name: 'a' | 'b'): Promise<Node> =>
    startNode(t, name, ports[name], {
      DIEMCAU_DATA_DIR: dataDir,
      DIEMCAU_DATABASE_URL: dbUrl,
      DIEMCAU_REDIS_URL: redis.url,
      DIEMCAU_PUBLIC_MQTT_URLS: urls,
      DIEMCAU_CLUSTER_HEARTBEAT_MS: '300',
      DIEMCAU_CLUSTER_NODE_TIMEOUT_MS: '3000',
      DIEMCAU_LEADER_LEASE_MS: '3000',
      ...env,
    });
  return { redis, dataDir, start };
}
