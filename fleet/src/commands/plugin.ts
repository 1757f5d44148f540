import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { DiemcauError } from '@diemcau/shared';
import { deviceRef } from '../devices/device-ref.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { isTerminal } from './lifecycle.js';
import { commandMetrics } from './metrics.js';
import { commandRoutes } from './routes.js';
import { createCommandService, resultAuditEntry, type CommandService } from './service.js';
import { COMMAND_MIGRATIONS, CommandsRepo } from './repo.js';

// The commands area as one fastify plugin over the spine's context
// (app.fleet): its table, its broker hooks, its ingest handler and its routes.

export { COMMAND_MIGRATIONS } from './repo.js';
export type { CommandRecord, CommandState } from './lifecycle.js';

export interface CommandsPluginOptions {
  /** Which of these sites have a live meeting now (the meetings area's busySites). */
  liveSites?: (siteIds: readonly string[]) => Promise<ReadonlySet<string>>;
  /** Lifetime of a command that names none; long enough to outlast a commune's link outage. */
  defaultTtlSec?: number;
  /** 0 disables the expiry timer (tests call sweep()). */
  sweepIntervalMs?: number;
  /** Receives the module's handles (tests, the demo). */
  expose?: (handles: CommandsHandles) => void;
}

export interface CommandsHandles {
  service: CommandService;
  dispatcher: Dispatcher;
  store: CommandsRepo;
}

export const DEFAULT_COMMAND_TTL_SEC = 24 * 3600;

/**
 * Disruptive commands are refused at a site in a live meeting, so commands
 * need the meetings area: declared as a dependency, a fleet built without it
 * fails at start instead of treating every site as free.
 */
export const commandsPlugin = fp<CommandsPluginOptions>(commandsArea, {
  name: 'diemcau-commands',
  dependencies: ['diemcau-context', 'diemcau-meetings'],
  encapsulate: true,
});

async function commandsArea(app: FastifyInstance, opts: CommandsPluginOptions): Promise<void> {
  const ctx = app.fleet;
  const log = ctx.log.child({ module: 'commands' });
  await ctx.db.migrate(COMMAND_MIGRATIONS);
  const store = new CommandsRepo(ctx.db);
  let dispatcherRef: Dispatcher | undefined;
  const metrics = commandMetrics(ctx.metrics.registry, () => dispatcherRef);

  const dispatcher = createDispatcher({
    broker: ctx.broker.aedes,
    store,
    log,
    ...(opts.sweepIntervalMs !== undefined ? { sweepIntervalMs: opts.sweepIntervalMs } : {}),
    onChange: (record, event) => {
      metrics.changed(record, event);
      if ((event.kind === 'result' || event.kind === 'expire') && isTerminal(record.status)) {
        ctx.repos.audit
          .record(resultAuditEntry(record))
          .catch((err: unknown) => log.error({ err, commandId: record.id }, 'auditing a command result failed'));
      }
    },
  });
  dispatcherRef = dispatcher;
  const unIngest = ctx.ingest.on('command-results', (deviceId, result) => {
    dispatcher
      .handleResult(deviceId, result)
      .catch((err: unknown) => log.error({ err, deviceId }, 'storing a command result failed'));
  });

  const service = createCommandService({
    store,
    dispatcher,
    log,
    ports: {
      sites: () => ctx.sites.all(),
      siteIndex: () => ctx.sites.siteIndex(),
      devices: async () => (await ctx.repos.devices.list()).filter((d) => d.revokedAt === null).map(deviceRef),
      device: async (id) => {
        const d = await ctx.repos.devices.get(id);
        return d && d.revokedAt === null ? deviceRef(d) : undefined;
      },
      liveSites: (ids) => opts.liveSites?.(ids) ?? app.meetings.service.busySites(ids),
      audit: ctx.repos.audit,
    },
    metrics,
  });

  await app.register(commandRoutes, {
    service,
    defaultTtlSec: opts.defaultTtlSec ?? DEFAULT_COMMAND_TTL_SEC,
    operatorOf: (req) => {
      // The auth hook runs first on every /api/ route; a missing operator is a wiring bug.
      if (!req.operator) throw new DiemcauError('FLEET_ERR_UNAUTHORIZED');
      return req.operator;
    },
  });

  app.addHook('onClose', async () => {
    unIngest();
    dispatcher.close();
  });
  opts.expose?.({ service, dispatcher, store });
}
