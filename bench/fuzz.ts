// `npm run fuzz [-- --runs N] [-- --only codecs|fleet|edge]`: fuzzes every
// protocol parser, the fleet's HTTP bodies and the URL spellings of every
// protected route, then the media edge's HTTP API (spellings x credentials,
// bodies; a real edge process), and prints cases run and failures per parser.
// Exit code 1 when any parser failed.
import { parseArgs } from 'node:util';
import { fuzzCodec, protocolCodecs, type FuzzOutcome } from './fuzz/codecs.js';
import { fuzzHttpBodies } from './fuzz/http.js';
import { fuzzUrlSpellings } from './fuzz/http-spellings.js';
import { fuzzEdgeHttp } from './fuzz/edge-http.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10000' }, only: { type: 'string' } } });
const runs = Number(values.runs);
const only = values.only;
if (only !== undefined && !['codecs', 'fleet', 'edge'].includes(only))
  throw new Error(`--only takes codecs, fleet or edge, not ${only}`);
const part = (name: string): boolean => only === undefined || only === name;
const log = (line: string): boolean => process.stderr.write(`fuzz: ${line}\n`);

const rows: FuzzOutcome[] = [];
for (const [name, c] of part('codecs') ? protocolCodecs() : []) {
  const started = Date.now();
  const r = fuzzCodec(name, c, runs);
  rows.push(r);
  process.stderr.write(`fuzz: ${name} ${r.runs} cases in ${Date.now() - started} ms\n`);
}
if (part('fleet')) {
  rows.push(...(await fuzzHttpBodies(runs, log)));
  // Every protected route under many URL spellings, no token: never a 2xx (bench/fuzz/http-spellings.ts).
  rows.push(await fuzzUrlSpellings(runs, log));
}
// The media edge: a real edge process, its routes under spellings and wrong credentials, then bodies (bench/fuzz/edge-http.ts).
if (part('edge')) rows.push(await fuzzEdgeHttp(runs, log));

const pad = (s: string | number, n: number) => String(s).padEnd(n);
console.log(`${pad('parser', 42)}${pad('cases', 8)}${pad('accepted', 10)}${pad('rejected', 10)}failures`);
for (const r of rows) {
  console.log(`${pad(r.name, 42)}${pad(r.runs, 8)}${pad(r.accepted, 10)}${pad(r.rejected, 10)}${r.failures}`);
  if (r.firstFailure) console.log(`  first failure: ${r.firstFailure}`);
}
const failed = rows.filter((r) => r.failures > 0).length;
console.log(`${rows.length} parsers, ${rows.reduce((n, r) => n + r.runs, 0)} cases, ${failed} with failures`);
process.exitCode = failed > 0 ? 1 : 0;
