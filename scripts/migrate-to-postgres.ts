// npm run migrate-to-postgres [-- --apply]: moves an embedded install's
// registry (the SQLite file in DIEMCAU_DATA_DIR) into the PostgreSQL of
// DIEMCAU_DATABASE_URL. Without --apply it is a dry run: it shows what would
// be copied and what stops it, and writes nothing. With --apply every row
// goes in one transaction: all of it, or (on any failure) none of it.
// The composition root of this command: the only reader of its environment.
import { isDiemcauError, settingsProblems } from '@diemcau/shared';
import { loadFleetSettings } from '../fleet/src/config.js';
import { createLogger } from '../fleet/src/log.js';
import { moveToPostgres } from '../fleet/src/db/import/move.js';

const apply = process.argv.includes('--apply');
const out = (line: string): boolean => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const { settings } = loadFleetSettings(process.env);
  const log = createLogger(settings.logLevel === 'info' ? 'warn' : settings.logLevel);
  let lastShown = 0;
  const outcome = await moveToPostgres({
    config: settings,
    apply,
    log,
    onPlan: (plan, source) => {
      out(`${apply ? 'Moving' : 'Dry run:'} ${source} -> PostgreSQL`);
      for (const s of plan.steps) out(`  ${s.table.padEnd(24)} ${String(s.rows).padStart(9)} rows`);
      out(`  ${'total'.padEnd(24)} ${String(plan.totalRows).padStart(9)} rows`);
    },
    onProgress: (p) => {
      const now = Date.now();
      if (p.done < p.rows && now - lastShown < 1000) return;
      lastShown = now;
      out(`  ${p.table}: ${p.done}/${p.rows} rows (${p.totalDone}/${p.totalRows} in all)`);
    },
  });
  if (outcome.plan.problems.length > 0) {
    out('Nothing was written, because:');
    for (const p of outcome.plan.problems) out(`  - ${p}`);
    return 1;
  }
  if (!outcome.result) {
    out('Nothing was written (dry run). Stop the fleet, then run again with --apply.');
    return 0;
  }
  out('Written:');
  for (const [table, n] of Object.entries(outcome.result.written))
    out(`  ${table.padEnd(24)} ${String(n).padStart(9)} rows`);
  out(`Done: ${outcome.result.totalRows} rows in one transaction. Start the fleet with DIEMCAU_DATABASE_URL set.`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (isDiemcauError(err) && err.code === 'FLEET_ERR_CONFIG')
      process.stderr.write(`invalid configuration:\n  ${(settingsProblems(err) ?? [err.message]).join('\n  ')}\n`);
    else
      process.stderr.write(
        `migrate-to-postgres failed, nothing was written: ${err instanceof Error ? err.message : String(err)}\n`,
      );
    process.exit(1);
  },
);
