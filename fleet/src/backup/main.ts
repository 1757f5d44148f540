// Composition root of `npm run backup` and `npm run restore` (in the image:
// `diemcau-server backup|restore ...`). Reads the fleet's own settings from
// the environment, the same as the fleet server, so it finds the same data
// dir, registry (file, or DIEMCAU_DATABASE_URL) and key files.
//   backup  --out FILE    while the fleet runs (SQLite's online backup, or pg_dump of one snapshot)
//   restore --from FILE [--overwrite]
//                         into DIEMCAU_DATA_DIR, which must hold no registry yet, and with
//                         DIEMCAU_DATABASE_URL into that database, which must be empty unless
//                         --overwrite (pg_restore --clean) is given
import { parseArgs } from 'node:util';
import { isDiemcauError, settingsProblems } from '@diemcau/shared';
import { loadFleetSettings } from '../config.js';
import { createLogger } from '../log.js';
import { backupFleet } from './backup.js';
import { redactUrl } from './pg-tools.js';
import { restoreFleet } from './restore.js';

const USAGE =
  'usage: backup --out FILE | restore --from FILE [--overwrite]   (settings from the environment: DIEMCAU_DATA_DIR, DIEMCAU_DB_FILE or DIEMCAU_DATABASE_URL, DIEMCAU_PG_TOOLS_DIR, key files)';

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { out: { type: 'string' }, from: { type: 'string' }, overwrite: { type: 'boolean', default: false } },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { settings } = loadFleetSettings(process.env);
  const log = createLogger(settings.logLevel).child({ module: 'backup' });
  if (command === 'backup' && values.out) {
    const r = await backupFleet(settings, values.out, log, process.env);
    process.stdout.write(
      `${JSON.stringify({ file: r.file, bytes: r.bytes, counts: r.manifest.counts, files: r.manifest.files.length })}\n`,
    );
    return 0;
  }
  if (command === 'restore' && values.from) {
    const r = await restoreFleet(values.from, settings, log, { overwrite: values.overwrite, env: process.env });
    const lines = Object.entries(r.settings).map(([k, v]) => `  ${k}=${v}`);
    process.stdout.write(
      `restored the backup of ${r.manifest.created} into ${settings.dataDir}${r.restoredCounts ? ` and ${redactUrl(settings.databaseUrl!)}` : ''} (${JSON.stringify(r.manifest.counts)})\n` +
        (lines.length > 0
          ? `start the fleet with these settings (also in keys/restored.env):\n${lines.join('\n')}\n`
          : ''),
    );
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (isDiemcauError(err) && err.code === 'FLEET_ERR_CONFIG') {
      process.stderr.write(`invalid configuration:\n  ${(settingsProblems(err) ?? [err.message]).join('\n  ')}\n`);
      process.exit(2);
    }
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
