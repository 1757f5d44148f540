// `npm run fuzz [-- --runs N]`: fuzzes every protocol parser, the HTTP bodies
// and the URL spellings of every protected route, and prints cases run and
// failures per parser. Exit code 1 when any parser failed.
import { parseArgs } from 'node:util';
import { fuzzCodec, protocolCodecs, type FuzzOutcome } from './fuzz/codecs.js';
import { fuzzHttpBodies } from './fuzz/http.js';
import { fuzzUrlSpellings } from './fuzz/http-spellings.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10000' } } });
const runs = Number(values.runs);

const rows: FuzzOutcome[] = [];
for (const [name, c] of protocolCodecs()) {
  const started = Date.now();
  const r = fuzzCodec(name, c, runs);
  rows.push(r);
  process.stderr.write(`fuzz: ${name} ${r.runs} cases in ${Date.now() - started} ms\n`);
}
rows.push(...(await fuzzHttpBodies(runs, (line) => process.stderr.write(`fuzz: ${line}\n`))));
// Every protected route under many URL spellings, no token: never a 2xx (bench/fuzz/http-spellings.ts).
rows.push(await fuzzUrlSpellings(runs, (line) => process.stderr.write(`fuzz: ${line}\n`)));

const pad = (s: string | number, n: number) => String(s).padEnd(n);
console.log(`${pad('parser', 42)}${pad('cases', 8)}${pad('accepted', 10)}${pad('rejected', 10)}failures`);
for (const r of rows) {
  console.log(`${pad(r.name, 42)}${pad(r.runs, 8)}${pad(r.accepted, 10)}${pad(r.rejected, 10)}${r.failures}`);
  if (r.firstFailure) console.log(`  first failure: ${r.firstFailure}`);
}
const failed = rows.filter((r) => r.failures > 0).length;
console.log(`${rows.length} parsers, ${rows.reduce((n, r) => n + r.runs, 0)} cases, ${failed} with failures`);
process.exitCode = failed > 0 ? 1 : 0;
