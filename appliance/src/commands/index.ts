import path from 'node:path';
import type { CommandResult, SelfTestResult } from '@diemcau/shared';
import type { Log } from '../devices/types.js';
import { createCommandExecutor, type CommandExecutor } from './executor.js';
import { createHandlers, type CommandDeps } from './handlers.js';
import { createSettingsStore, type SettingsStore } from './settings.js';
import { createIdempotencyStore } from './store.js';

// Wires the commands pipeline of one agent: the idempotency store and the
// remote settings in its data dir, the handlers over its hardware, and the
// executor fed by the MQTT router and answering through publishDurable.

export { AGENT_RESTART_EXIT_CODE } from './restart.js';
export type { CommandExecutor } from './executor.js';
export { bindSettings, type SettingsStore, type RemoteSettings } from './settings.js';
export type { IdentifyCard } from './handlers.js';
export {
  fileKiosk,
  mediaRestarter,
  outletsFrom,
  outletsFromEnv,
  OutletsSettingsSchema,
  systemdMedia,
} from './outlets.js';

export interface AgentCommandsOptions extends Omit<CommandDeps, 'settings' | 'publishHealth'> {
  dataDir: string;
  log: Log;
  /** The agent's durable publish: queued on disk, delivered in order after reconnecting. */
  publishDurable: (channel: 'command-results' | 'health', payload: string) => Promise<void>;
  /** fsync each idempotency entry (real boxes: yes; thousands of simulated agents: no). */
  fsync?: boolean;
}

export interface AgentCommands {
  readonly executor: CommandExecutor;
  readonly settings: SettingsStore;
  /** Router handler for the 'commands' channel. */
  onMessage(payload: Buffer): Promise<void>;
  /** Answers what a previous run left unfinished; call once after the queue is open. */
  start(): Promise<void>;
  close(): void;
}

export function createAgentCommands(opts: AgentCommandsOptions): AgentCommands {
  const log = opts.log.child({ module: 'commands' });
  const settings = createSettingsStore(path.join(opts.dataDir, 'settings.json'));
  const store = createIdempotencyStore(path.join(opts.dataDir, 'commands'), { fsync: opts.fsync ?? true });
  const handlers = createHandlers({
    ...opts,
    settings,
    publishHealth: (result: SelfTestResult) => opts.publishDurable('health', JSON.stringify(result)),
  });
  const executor = createCommandExecutor({
    store,
    handlers,
    log,
    publishResult: (result: CommandResult) => opts.publishDurable('command-results', JSON.stringify(result)),
  });
  let closed = false;
  return {
    executor,
    settings,
    onMessage: (payload) => executor.handle(payload),
    start: () => executor.recover(),
    close() {
      if (closed) return;
      closed = true;
      executor.close();
      opts.media?.close?.();
    },
  };
}
