// Repeats the failures of a test run's TAP output at its end: each failing assertion with the
// subtests it sits in and its diagnostic block, so a long run's reader finds them in one place.
// Usage: node scripts/tap-failures.mjs run.log
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n');
const path = []; // the open "# Subtest:" names, by indentation depth
const failures = [];
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  const subtest = /^(\s*)# Subtest: (.*)$/.exec(line);
  if (subtest) {
    const depth = subtest[1].length / 4;
    path.length = depth;
    path[depth] = subtest[2];
    continue;
  }
  const failed = /^(\s*)not ok \d+ - (.*)$/.exec(line);
  if (!failed) continue;
  const depth = failed[1].length / 4;
  const name = failed[2].replace(/ # time=[\d.]+m?s$/, ''); // as its "# Subtest:" line names it
  // A failing subtest repeats its children's failures; only the innermost ones are reported.
  const next = lines[i + 1] ?? '';
  const diag = [];
  if (/^\s*---$/.test(next)) {
    for (let j = i + 2; j < lines.length && !/^\s*\.\.\.$/.test(lines[j]) && diag.length < 40; j++) diag.push(lines[j]);
  }
  const isParent = failures.some(
    (f) =>
      f.depth > depth && f.path.slice(0, depth + 1).join('\u0000') === path.slice(0, depth).concat(name).join('\u0000'),
  );
  if (isParent) continue;
  failures.push({ depth, path: path.slice(0, depth).concat(name), diag });
}
if (failures.length === 0) {
  console.log('\n# no failing assertion found in the TAP output (the run failed before or outside the tests)');
} else {
  console.log(`\n# ${failures.length} failing assertion(s):`);
  for (const f of failures) {
    console.log(`\n## ${f.path.join(' > ')}`);
    for (const d of f.diag) console.log(d);
  }
}
