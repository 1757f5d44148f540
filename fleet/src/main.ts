// Composition root of the fleet server (`npm start`): the only reader of the
// environment. It builds the settings tree (every problem listed before
// anything starts), builds the fleet with it, and stops it cleanly on
// SIGINT/SIGTERM.
import { isDiemcauError, settingsProblems } from '@diemcau/shared';
import { buildFleet } from './app.js';
import { loadFleetSettings } from './config.js';
import { createLogger } from './log.js';

async function main(): Promise<void> {
  let fleet;
  try {
    const { settings, warnings } = loadFleetSettings(process.env);
    const logger = createLogger(settings.logLevel);
    for (const warning of warnings) logger.warn({ setting: warning }, 'deprecated setting');
    fleet = await buildFleet({ config: settings, logger });
  } catch (err) {
    if (isDiemcauError(err) && err.code === 'FLEET_ERR_CONFIG') {
      process.stderr.write(`invalid configuration:\n  ${(settingsProblems(err) ?? [err.message]).join('\n  ')}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (fleet.generatedAdminToken) {
    // Shown once; only its hash is stored. Set DIEMCAU_ADMIN_TOKEN to choose your own.
    process.stdout.write(
      `\nAdmin token (shown only now, keep it safe):\n  ${fleet.generatedAdminToken}\n` +
        `Use it as: Authorization: Bearer <token>. API docs: http://localhost:${fleet.httpPort}/docs\n\n`,
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    fleet.log.info({ signal }, 'stopping');
    // While the broker's Redis connections close, a library's write that it
    // never awaited may be refused; the stop goes on (and the node has already
    // told the cluster it is leaving).
    process.on('unhandledRejection', (err) => fleet.log.warn({ err }, 'rejected while stopping; ignored'));
    fleet.close().then(
      () => process.exit(0),
      (err: unknown) => {
        fleet.log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fleet failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
