import { commandCodec, isDiemcauError, type Command, type CommandResult } from '@diemcau/shared';
import type { Log } from '../devices/types.js';
import { decide, prunable, recoverInterrupted } from './planner.js';
import type { IdempotencyStore } from './store.js';

// Runs commands from the fleet at most once each. Everything goes through the
// on-disk store first; results leave through the agent's durable queue, so a
// result produced while the fleet is unreachable is delivered later, and a
// redelivered command is answered with the same result without running again.

export type HandlerOutcome = (
  | { status: 'succeeded'; output?: unknown }
  | { status: 'failed' | 'rejected'; error: { code: string; message: string }; output?: unknown }
) & {
  /** Runs once the result is stored and queued (restart-agent ends the process here). */
  after?: () => void;
};

export type CommandHandler = (cmd: Command) => Promise<HandlerOutcome>;
export type HandlerMap = Record<Command['type'], CommandHandler>;

export interface ExecutorCounters {
  received: number;
  ran: number;
  replayed: number;
  ignoredRunning: number;
  expired: number;
  bad: number;
}

export interface CommandExecutor {
  /** Entry point for a payload on the device's commands topic. Never throws. */
  handle(payload: Buffer | string): Promise<void>;
  /** At start: answers commands left 'running' by the previous run, drops old entries. */
  recover(): Promise<void>;
  /** Resolves when every command accepted so far has finished. */
  idle(): Promise<void>;
  readonly counters: ExecutorCounters;
  close(): void;
}

export interface ExecutorOptions {
  store: IdempotencyStore;
  handlers: HandlerMap;
  /** Hands a result to the durable queue (publishDurable on 'command-results'). */
  publishResult: (result: CommandResult) => Promise<void>;
  log: Log;
  now?: () => Date;
  /** How long past expiry a finished entry is kept. */
  pruneMarginMs?: number;
}

export function createCommandExecutor(opts: ExecutorOptions): CommandExecutor {
  const { store, handlers, log } = opts;
  const now = () => (opts.now ? opts.now() : new Date());
  const counters: ExecutorCounters = { received: 0, ran: 0, replayed: 0, ignoredRunning: 0, expired: 0, bad: 0 };
  let closed = false;
  // One command at a time: a reboot must not overtake the self-test queued before it.
  let chain: Promise<void> = Promise.resolve();

  const publish = async (result: CommandResult): Promise<void> => {
    try {
      await opts.publishResult(result);
    } catch (err) {
      // The stored result is answered again on the fleet's next re-send.
      log.error({ err, commandId: result.commandId }, 'could not queue command result');
    }
  };

  const finish = async (cmd: Command, outcome: HandlerOutcome): Promise<void> => {
    const { after, ...answer } = outcome;
    const result: CommandResult = { v: 1, commandId: cmd.id, at: now().toISOString(), ...answer };
    store.put({ state: 'done', id: cmd.id, type: cmd.type, result, expiresAt: cmd.expiresAt });
    log.info({ commandId: cmd.id, type: cmd.type, status: result.status }, 'command finished');
    await publish(result);
    if (after) {
      try {
        after();
      } catch (err) {
        log.error({ err, commandId: cmd.id }, 'post-command action failed');
      }
    }
  };

  const run = async (cmd: Command): Promise<void> => {
    const d = decide(cmd, store.get(cmd.id), now());
    switch (d.action) {
      case 'replay':
        counters.replayed++;
        log.info({ commandId: cmd.id, type: cmd.type }, 'duplicate command answered from the store');
        return publish(d.result);
      case 'ignore':
        counters.ignoredRunning++;
        return;
      case 'expire':
        counters.expired++;
        store.put({ state: 'done', id: cmd.id, type: cmd.type, result: d.result, expiresAt: cmd.expiresAt });
        log.warn({ commandId: cmd.id, type: cmd.type, expiresAt: cmd.expiresAt }, 'command arrived expired; not run');
        return publish(d.result);
      case 'run':
        break;
    }
    store.put({
      state: 'running',
      id: cmd.id,
      type: cmd.type,
      startedAt: now().toISOString(),
      expiresAt: cmd.expiresAt,
    });
    counters.ran++;
    log.info({ commandId: cmd.id, type: cmd.type, forced: cmd.force?.reason }, 'running command');
    let outcome: HandlerOutcome;
    try {
      outcome = await handlers[cmd.type](cmd);
    } catch (err) {
      outcome = {
        status: 'failed',
        error: isDiemcauError(err)
          ? { code: err.code, message: err.message }
          : { code: 'APPL_ERR_COMMAND', message: (err as Error)?.message ?? String(err) },
      };
      log.warn({ err, commandId: cmd.id, type: cmd.type }, 'command handler failed');
    }
    await finish(cmd, outcome);
  };

  const answerUndecodable = async (payload: Buffer | string, message: string): Promise<void> => {
    // Without a valid id there is nobody to answer; with one, say why it was refused.
    let id: unknown;
    try {
      id = (JSON.parse(payload.toString()) as { id?: unknown }).id;
    } catch {
      return;
    }
    if (typeof id !== 'string' || id.length === 0 || id.length > 64 || store.get(id)) return;
    await publish({
      v: 1,
      commandId: id,
      status: 'rejected',
      at: now().toISOString(),
      error: { code: 'PROTO_ERR_SCHEMA', message },
    });
  };

  return {
    counters,
    async handle(payload) {
      if (closed) return;
      counters.received++;
      const decoded = commandCodec.decode(payload);
      if (!decoded.ok) {
        counters.bad++;
        log.warn({ err: decoded.error }, 'bad command payload rejected');
        chain = chain.then(() => answerUndecodable(payload, decoded.error.message)).catch(() => undefined);
        return chain;
      }
      chain = chain
        .then(() => run(decoded.value))
        .catch((err: unknown) => log.error({ err }, 'command pipeline failed'));
      return chain;
    },
    async recover() {
      const at = now();
      for (const entry of store.all()) {
        if (entry.state === 'running') {
          const result = recoverInterrupted(entry, at);
          store.put({ state: 'done', id: entry.id, type: entry.type, result, expiresAt: entry.expiresAt });
          log.info(
            { commandId: entry.id, type: entry.type, status: result.status },
            'command interrupted by a restart answered',
          );
          await publish(result);
        } else if (prunable(entry, at, opts.pruneMarginMs ?? 3_600_000)) {
          store.remove(entry.id);
        }
      }
    },
    idle: () => chain,
    close() {
      closed = true;
    },
  };
}
