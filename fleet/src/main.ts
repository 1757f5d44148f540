// Composition root of the fleet server (`npm start`): reads the environment,
// builds the fleet, and stops it cleanly on SIGINT/SIGTERM.
import { isDiemcauError } from '@diemcau/shared';
import { buildFleet } from './app.js';
import { configFromEnv } from './config.js';

async function main(): Promise<void> {
  let fleet;
  try {
    fleet = await buildFleet({ config: configFromEnv(process.env) });
  } catch (err) {
    if (isDiemcauError(err) && err.code === 'FLEET_ERR_CONFIG') {
      process.stderr.write(`invalid configuration:\n  ${((err.details as string[]) ?? [err.message]).join('\n  ')}\n`);
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
