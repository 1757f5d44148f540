// OS updates inside the agent: the applier the settings choose (apt here,
// apt in the image's root unit, or simulated), the updater wired to the
// agent's 'desired-os' channel and its durable 'os' reports, the box's
// meeting state as the hold, and the self-test as the health check after.
// main.ts calls startAgentOs() once the agent runs and close() when it stops.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { OsApplier } from './applier.js';
import { AptOs } from './apt.js';
import type { OsAgentConfig } from './config.js';
import { SimulatedOs } from './simulated.js';
import { UnitOs } from './unit.js';
import { OsUpdater } from './updater.js';

export interface OsAgentPort {
  router: { on(channel: 'desired-os', handler: (payload: Buffer) => void): () => void };
  publishDurable(channel: 'os', payload: string): Promise<void>;
  session: { connected: boolean; waitConnected(): Promise<void> };
}

export interface AgentOsDeps {
  agent: OsAgentPort;
  config: OsAgentConfig;
  /** True while the box's edge runs a live meeting. */
  busy: () => boolean;
  selfTest: () => Promise<{ ok: boolean; peripherals: Record<string, string> }>;
  reboot: (reason: string) => Promise<void>;
  /** How long the box may take to reach the fleet again after an update. */
  healthTimeoutMs?: number;
  log: Logger;
}

export interface AgentOs {
  updater: OsUpdater | null;
  close(): Promise<void>;
}

export function osApplier(config: OsAgentConfig, log: Logger): OsApplier | null {
  switch (config.updates) {
    case 'off':
      return null;
    case 'simulated':
      return new SimulatedOs(config.stateDir);
    case 'apt':
      return config.unit
        ? new UnitOs({ unit: config.unit, stateDir: config.stateDir, unitDir: config.unitDir })
        : new AptOs({
            root: config.root,
            keyrings: config.keyrings,
            aptConfig: config.aptConfig,
            stateDir: config.stateDir,
            rebootRequiredFile: config.rebootRequiredFile,
            log,
          });
  }
}

export async function startAgentOs(d: AgentOsDeps): Promise<AgentOs> {
  const log = d.log.child({ module: 'os-update' });
  const applier = osApplier(d.config, log);
  if (!applier) {
    log.info('operating system updates are off (DIEMCAU_OS_UPDATES=off)');
    return { updater: null, close: async () => undefined };
  }
  await fs.promises.mkdir(d.config.stateDir, { recursive: true });
  const baselineFile = path.join(d.config.stateDir, 'health-baseline.json');
  const timeoutMs = d.healthTimeoutMs ?? 300_000;
  const updater = new OsUpdater({
    applier,
    stateFile: path.join(d.config.stateDir, 'state.json'),
    busy: d.busy,
    report: (s) => d.agent.publishDurable('os', JSON.stringify(s)),
    holdCheckMs: d.config.holdCheckMs,
    log,
    reboot: d.reboot,
    health: {
      // On the disk: the check after a reboot compares with what worked before it.
      async before() {
        const r = await d.selfTest();
        await fs.promises.writeFile(baselineFile, JSON.stringify(r.peripherals));
      },
      async after() {
        if (!d.agent.session.connected) {
          const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
          await Promise.race([d.agent.session.waitConnected(), timer]);
          if (!d.agent.session.connected) return `no connection to the fleet within ${timeoutMs / 1000} s`;
        }
        const r = await d.selfTest();
        if (r.ok) return null;
        let baseline: Record<string, string> = {};
        try {
          baseline = JSON.parse(await fs.promises.readFile(baselineFile, 'utf8')) as Record<string, string>;
        } catch {
          // no baseline: every failure counts
        }
        const worse = Object.entries(r.peripherals).filter(([k, v]) => v !== 'ok' && baseline[k] === 'ok');
        if (Object.keys(baseline).length > 0 && worse.length === 0) return null;
        return worse.length > 0
          ? `worse after the update: ${worse.map(([k, v]) => `${k} ${v}`).join(', ')}`
          : 'self-test not ok';
      },
    },
  });
  log.info({ applier: applier.kind, current: updater.current }, 'OS updates ready');
  await updater.start();
  const off = d.agent.router.on('desired-os', (payload) => updater.handleDesiredMessage(payload));
  return {
    updater,
    close: async () => {
      off();
      await updater.close();
    },
  };
}
