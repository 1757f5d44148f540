import type { Logger } from 'pino';
import type { Agent } from '../agent/index.js';
import { createHardware, type Hardware } from '../devices/index.js';
import { bindSettings, createAgentCommands, type AgentCommands } from './index.js';

// Commands for the agents of the simulator (many per process). Each simulated
// box gets the same pipeline as a real one, over simulated hardware created
// on its first command (10,000 idle boxes need none). "Restart the agent"
// here means: close this Agent instance and start a new one on the same data
// dir, which is what systemd does to the real program.

export interface SimCommandsEntry {
  agent: Agent;
}

export interface SimCommands {
  readonly commands: AgentCommands;
  readonly restarts: number;
  close(): Promise<void>;
}

export async function attachSimCommands(opts: {
  entry: SimCommandsEntry;
  /** Starts a fresh Agent on the same data dir (enrolled already: no token needed). */
  boot: () => Promise<Agent>;
  dataDir: string;
  log: Logger;
}): Promise<SimCommands> {
  const { entry, log } = opts;
  let hw: Promise<Hardware> | undefined;
  const hardware = () =>
    (hw ??= createHardware({ kind: 'simulated', log, options: { capture: { seconds: 0.2, warmupSeconds: 0 } } }));
  let restarts = 0;
  let closed = false;
  let detach = () => {};
  let restarting: Promise<void> | undefined;

  const commands = createAgentCommands({
    dataDir: opts.dataDir,
    log,
    fsync: false,
    hardware: {
      power: {
        reboot: async (reason) => (await hardware()).power.reboot(reason),
        restartAgent: async (reason) => (await hardware()).power.restartAgent(reason),
        onRequest: () => () => {},
      },
      selfTest: async (o) => (await hardware()).selfTest(o),
      identify: async (ms) => (await hardware()).identify(ms),
    },
    // The simulator runs no media edge; restarting one is a no-op that succeeds.
    media: { restart: async (reason) => log.info({ reason }, 'simulated media edge restart') },
    kiosk: null,
    site: () => ({ deviceId: entry.agent.identity.deviceId, siteName: entry.agent.identity.siteName }),
    publishDurable: (channel, payload) => entry.agent.publishDurable(channel, payload),
    requestAgentRestart: (reason) => {
      restarting ??= (async () => {
        log.info({ reason }, 'restarting simulated agent');
        detach();
        await entry.agent.close({ graceful: true });
        if (closed) return;
        entry.agent = await opts.boot();
        restarts++;
        attach();
      })()
        .catch((err: unknown) => log.error({ err }, 'simulated agent restart failed'))
        .finally(() => (restarting = undefined));
    },
  });
  const attach = () => {
    const offCommands = entry.agent.router.on('commands', (payload) => commands.onMessage(payload));
    const offSettings = bindSettings(commands.settings, {
      telemetryIntervalSec: (sec) => entry.agent.setTelemetryInterval(sec),
    });
    detach = () => {
      offCommands();
      offSettings();
    };
  };
  attach();
  await commands.start();
  return {
    commands,
    get restarts() {
      return restarts;
    },
    async close() {
      if (closed) return;
      closed = true;
      detach();
      commands.close();
      await restarting;
      if (hw) await (await hw).close();
    },
  };
}
