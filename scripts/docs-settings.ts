// `npm run docs:settings`: writes the README's settings tables from the
// programs' schemas, between marker comments, touching nothing else. The
// test scripts/test/docs-settings.test.ts fails when the README differs from
// what this would write, so a new setting or default cannot go undocumented.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentSettingsTable } from '../appliance/src/config.js';
import { configTable as fleetSettingsTable } from '../fleet/src/config.js';
import { edgeSettingsTable } from '../appliance/src/media/config.js';
import { provisioningSettingsTable } from '../provisioning/src/settings.js';

export const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md');

/** Each program's tables, by the name in its markers. */
export const TABLES: Record<string, () => string> = {
  fleet: fleetSettingsTable,
  agent: agentSettingsTable,
  edge: edgeSettingsTable,
  provisioning: provisioningSettingsTable,
};

const markers = (name: string): [string, string] => [
  `<!-- settings:${name}:start (npm run docs:settings) -->`,
  `<!-- settings:${name}:end -->`,
];

/** The README with every table replaced; throws when a program's markers are missing. */
export function renderSettings(readme: string): string {
  let out = readme;
  for (const [name, table] of Object.entries(TABLES)) {
    const [start, end] = markers(name);
    const a = out.indexOf(start);
    const b = out.indexOf(end);
    if (a === -1 || b === -1 || b < a)
      throw new Error(`README.md: markers for the ${name} settings are missing (${start} … ${end})`);
    out = `${out.slice(0, a + start.length)}\n\n${table()}\n\n${out.slice(b)}`;
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const before = fs.readFileSync(README, 'utf8');
  const after = renderSettings(before);
  if (after === before) process.stdout.write('README.md: settings tables already up to date\n');
  else {
    fs.writeFileSync(README, after);
    process.stdout.write('README.md: settings tables rewritten\n');
  }
}
