import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Peripherals } from '@diemcau/shared';
import { Agent } from '../agent/index.js';
import { loadIdentity } from '../agent/identity.js';
import { dataPaths, loadConfig } from '../config.js';
import { SimulatedCollector } from '../telemetry/index.js';
import { fleetApi } from './fleet-api.js';
import { devicesPerSite, planDevices, type SimDevicePlan } from './planner.js';
import { attachSimCommands, type SimCommands } from '../commands/sim.js';

// Many agents in one process: the same Agent as on a box, with simulated
// hardware, a cheap simulated collector and one data dir each. Agents that
// enrolled in an earlier run (identity in their dir) start without a token.

export interface SimulationOptions {
  fleetUrl: string;
  /** Operator token to list sites and mint tokens; not needed with `tokens`, or when every device is already enrolled. */
  adminToken?: string;
  /** siteId → tokens, e.g. from a tokens file (each may serve several devices if minted with uses > 1). */
  tokens?: Map<string, string[]>;
  /** Simulated boxes, spread round-robin over the sites; default one per site. */
  devices?: number;
  /** Use only the first N sites of the fleet (all by default; more than there are means all). */
  sites?: number;
  /**
   * Run only the devices with index in [from, to) of the plan (see sliceBounds):
   * the rest run in sibling simulator processes. Sites and folders follow the
   * global index, so the parts together are the same fleet as one process.
   */
  slice?: { from: number; to: number };
  dataRoot: string;
  telemetryIntervalSec: number;
  keepaliveSec: number;
  mqttUrl?: string;
  /** How many agents start (enrol + connect) at once. */
  concurrency?: number;
  /**
   * How long a starting agent holds its slot waiting for its session (CONNACK,
   * subscriptions, birth acknowledged) before the next one starts anyway; it
   * keeps trying in the background. Default 30 s; 0 = start the next at once.
   */
  connectWaitMs?: number;
  queueMaxRecords?: number;
  log: Logger;
  signal?: AbortSignal;
  /** After each agent is enrolled and started (before its session is up); `total` counts this process's devices (its slice). */
  onProgress?: (started: number, total: number, entry: SimAgent) => void;
}

export interface SimAgent {
  plan: SimDevicePlan;
  /** Replaced when a restart-agent command restarts the instance. */
  agent: Agent;
  commands?: SimCommands;
}

export interface Simulation {
  agents: SimAgent[];
  connectedCount(): number;
  /** Stops every agent; graceful publishes "offline" for each (slower at 10,000). */
  close(opts?: { graceful: boolean }): Promise<void>;
}

/** Fresh tokens one simulated box may mint when its enrolments keep timing out after they counted. */
const MAX_FRESH_TOKENS = 5;

const SIM_PERIPHERALS: Peripherals = { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'ok' };

export async function startSimulation(opts: SimulationOptions): Promise<Simulation> {
  await fs.promises.mkdir(opts.dataRoot, { recursive: true, mode: 0o700 });
  const siteIds = await resolveSites(opts);
  const all = planDevices(siteIds, opts.devices ?? opts.sites ?? siteIds.length);
  const plan = opts.slice ? all.slice(opts.slice.from, opts.slice.to) : all;
  const tokenFor = await tokenSource(opts, plan);
  const agents: SimAgent[] = [];
  let next = 0;
  const startOne = async (p: SimDevicePlan): Promise<void> => {
    const dataDir = path.join(opts.dataRoot, p.dirName);
    const enrolled = (await loadIdentity(dataPaths(dataDir).identity)) !== undefined;
    const config = loadConfig({
      env: {
        DIEMCAU_FLEET_URL: opts.fleetUrl,
        DIEMCAU_DATA_DIR: dataDir,
        DIEMCAU_HARDWARE: 'simulated',
        DIEMCAU_TELEMETRY_INTERVAL_SEC: String(opts.telemetryIntervalSec),
        DIEMCAU_KEEPALIVE_SEC: String(opts.keepaliveSec),
        DIEMCAU_QUEUE_MAX_RECORDS: String(opts.queueMaxRecords ?? 2000),
        ...(opts.mqttUrl ? { DIEMCAU_MQTT_URL: opts.mqttUrl } : {}),
      },
    });
    // An enrolled box ignores the token; a new one gets its site's token.
    let token = enrolled ? undefined : tokenFor(p);
    const bootWith = (t: string | undefined) =>
      Agent.start(
        {
          config: t ? { ...config, enrollToken: t } : config,
          log: opts.log.child({ sim: p.index }),
          collector: new SimulatedCollector(p.dirName),
          agentVersion: 'sim',
          peripherals: async () => SIM_PERIPHERALS,
          // Spread samples over the interval so 10,000 agents do not tick together.
          firstSampleDelayMs: Math.floor(Math.random() * opts.telemetryIntervalSec * 1000),
          osName: 'simulated',
        },
        opts.signal,
      );
    const boot = async (): Promise<Agent> => {
      for (let fresh = 0; ; fresh++) {
        try {
          return await bootWith(token);
        } catch (err) {
          // A token runs out when an enrolment timed out here but counted there (the
          // retry spent a second use): mint one more for this box and go on. On a
          // fleet so slow that this keeps happening, give up after a few.
          const spent = (err as { code?: string }).code === 'APPL_ERR_ENROLL';
          if (!token || !opts.adminToken || !spent || fresh >= MAX_FRESH_TOKENS) throw err;
          opts.log.warn({ site: p.siteId, device: p.dirName, fresh: fresh + 1 }, 'token used up; minting a fresh one');
          token = await fleetApi(opts.fleetUrl, opts.adminToken, opts.signal).mintToken(p.siteId, 1);
        }
      }
    };
    const entry: SimAgent = { plan: p, agent: await boot() };
    // Commands run as on a box; restart-agent restarts this Agent instance.
    entry.commands = await attachSimCommands({ entry, boot, dataDir, log: opts.log.child({ sim: p.index }) });
    agents.push(entry);
    opts.onProgress?.(agents.length, plan.length, entry);
    // Agent.start returns before the broker answers: without this wait, enrolments
    // would outrun connects and pile them up at the fleet (each first connect
    // costs the broker work), so concurrency would not bound what is in flight.
    await waitConnected(entry.agent, opts.connectWaitMs ?? 30_000);
  };
  const worker = async (): Promise<void> => {
    while (next < plan.length && !opts.signal?.aborted) await startOne(plan[next++]!);
  };
  const close = async (c: { graceful: boolean } = { graceful: true }): Promise<void> => {
    // In batches: 10,000 graceful closes at once would flood the broker with "offline".
    for (let i = 0; i < agents.length; i += 500) {
      await Promise.all(
        agents.slice(i, i + 500).map(async (a) => {
          await a.commands?.close();
          await a.agent.close(c);
        }),
      );
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 50) }, worker));
  } catch (err) {
    await close({ graceful: false });
    throw err;
  }
  return { agents, connectedCount: () => agents.filter((a) => a.agent.connected).length, close };
}

/** Resolves when the agent's session is up, or after `ms` (0: at once). */
async function waitConnected(agent: Agent, ms: number): Promise<void> {
  if (ms <= 0 || agent.connected) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([agent.session.waitConnected(), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

async function resolveSites(opts: SimulationOptions): Promise<string[]> {
  let ids: string[];
  if (opts.tokens) ids = [...opts.tokens.keys()];
  else if (opts.adminToken)
    ids = (await fleetApi(opts.fleetUrl, opts.adminToken, opts.signal).listSites()).map((s) => s.id);
  else ids = await enrolledSites(opts.dataRoot);
  if (opts.sites !== undefined) ids = ids.slice(0, opts.sites);
  if (ids.length === 0)
    throw new Error('no sites: give an admin token, a tokens file, or a data root of enrolled devices');
  return ids;
}

/** Without token or tokens file, a re-run can still start devices enrolled before. */
async function enrolledSites(root: string): Promise<string[]> {
  const ids: string[] = [];
  for (const name of (await fs.promises.readdir(root)).sort()) {
    const id = await loadIdentity(dataPaths(path.join(root, name)).identity).catch(() => undefined);
    if (id) ids.push(id.siteId);
  }
  return ids;
}

/** Mints one token per site (uses = its device count) for devices not yet enrolled. */
async function tokenSource(opts: SimulationOptions, plan: SimDevicePlan[]): Promise<(p: SimDevicePlan) => string> {
  if (opts.tokens) {
    const seen = new Map<string, number>();
    return (p) => {
      const list = opts.tokens!.get(p.siteId)!;
      const k = seen.get(p.siteId) ?? 0;
      seen.set(p.siteId, k + 1);
      return list[k % list.length]!;
    };
  }
  const pending: SimDevicePlan[] = [];
  for (const p of plan) {
    if (!(await loadIdentity(dataPaths(path.join(opts.dataRoot, p.dirName)).identity).catch(() => undefined)))
      pending.push(p);
  }
  const minted = new Map<string, string>();
  if (pending.length > 0) {
    if (!opts.adminToken)
      throw new Error(`${pending.length} devices need enrolment: give an admin token or a tokens file`);
    const api = fleetApi(opts.fleetUrl, opts.adminToken, opts.signal);
    const perSite = [...devicesPerSite(pending)];
    // A few mints at a time: the fleet hashes each token, and 210 in parallel gains nothing.
    for (let i = 0; i < perSite.length; i += 10) {
      await Promise.all(
        perSite.slice(i, i + 10).map(async ([siteId, uses]) => minted.set(siteId, await api.mintToken(siteId, uses))),
      );
    }
  }
  return (p) => {
    const t = minted.get(p.siteId);
    if (!t) throw new Error(`no token for site ${p.siteId}`);
    return t;
  };
}
