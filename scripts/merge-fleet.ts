// npm run merge-fleet -- --from <registry> --mapping <file> [--apply] [--catch-up] [--telemetry-days N]
//
// Takes a second fleet's registry (the path of its SQLite file, or a
// postgres:// URL) into this fleet's (the one DIEMCAU_DATA_DIR or
// DIEMCAU_DATABASE_URL names), mapping its sites as the mapping file says.
// Without --apply it is a dry run: what would be copied, what is left out and
// why, and every conflict that stops it; nothing is written. With --apply
// every row goes in one transaction with its audit entry: all or nothing.
// --catch-up, after the boxes have moved, copies the telemetry the other
// fleet stored since. README, "Merging two fleets", has the whole procedure.
// The composition root of this command: the only reader of its environment.
import { readFileSync } from 'node:fs';
import { isDiemcauError, settingsProblems } from '@diemcau/shared';
import { loadFleetSettings } from '../fleet/src/config.js';
import { createLogger } from '../fleet/src/log.js';
import { mergeFleet } from '../fleet/src/db/import/merge.js';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(name);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const out = (line: string): boolean => process.stdout.write(`${line}\n`);
const USAGE =
  'usage: npm run merge-fleet -- --from <sqlite file | postgres:// URL> --mapping <file.json> [--apply] [--catch-up] [--telemetry-days N]';

async function main(): Promise<number> {
  const from = value('--from');
  const mappingFile = value('--mapping');
  const days = value('--telemetry-days');
  if (!from || !mappingFile || (days !== undefined && !/^\d+$/.test(days))) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const apply = flag('--apply');
  const catchUp = flag('--catch-up');
  const { settings } = loadFleetSettings(process.env);
  const log = createLogger(settings.logLevel === 'info' ? 'warn' : settings.logLevel);
  let lastShown = 0;
  let lastKey = '';
  const started = Date.now();
  const outcome = await mergeFleet({
    config: settings,
    from,
    mapping: readFileSync(mappingFile, 'utf8'),
    apply,
    catchUp,
    ...(days !== undefined ? { telemetryDays: Number(days) } : {}),
    log,
    onPlan: (plan, decision) => {
      out(`${apply ? 'Merging' : 'Dry run:'} ${catchUp ? 'telemetry since the merge from ' : ''}${from} -> this fleet`);
      if (!catchUp) {
        const s = decision.summary;
        out(
          `  sites: ${s.kept} kept, ${s.renamed} renamed, ${s.mergedInto} merged into sites of this fleet; ` +
            `devices: ${s.devices} (and ${s.revokedDevices} revoked, kept for the record)`,
        );
      }
      for (const st of plan.steps) out(`  copy ${st.table.padEnd(22)} ${String(st.rows).padStart(9)} rows`);
      for (const k of plan.skipped)
        if (k.rows > 0) out(`  left ${k.table.padEnd(22)} ${String(k.rows).padStart(9)} rows: ${k.why}`);
    },
    onProgress: (p) => {
      const now = Date.now();
      const key = `${p.table}:${p.done}`;
      if (key === lastKey || (p.done < p.rows && now - lastShown < 1000)) return;
      lastKey = key;
      lastShown = now;
      out(`  ${p.table}: ${p.done}/${p.rows} rows (${p.totalDone}/${p.totalRows} read in all)`);
    },
  });
  if (outcome.plan.problems.length > 0) {
    out(`Nothing was written, because of ${outcome.plan.problems.length} conflict(s):`);
    for (const p of outcome.plan.problems) out(`  - ${p}`);
    return 1;
  }
  if (!outcome.result) {
    out('Nothing was written (dry run). Run again with --apply.');
    return 0;
  }
  out('Written:');
  for (const [table, n] of Object.entries(outcome.result.written))
    out(`  ${table.padEnd(27)} ${String(n).padStart(9)} rows`);
  out(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s, one transaction, audited.`);
  if (!catchUp)
    out('Next: POST /api/v1/registry/reload on this fleet, then POST /api/v1/fleet/move-out on the other (README).');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (isDiemcauError(err) && err.code === 'FLEET_ERR_CONFIG')
      process.stderr.write(`invalid configuration:\n  ${(settingsProblems(err) ?? [err.message]).join('\n  ')}\n`);
    else
      process.stderr.write(
        `merge-fleet failed, nothing was written: ${err instanceof Error ? err.message : String(err)}\n`,
      );
    process.exit(1);
  },
);
