import t from 'tap';
import { fuzzHttpBodies } from '../../../bench/fuzz/http.js';

// The short version of `npm run fuzz` for HTTP bodies: a hundred bodies per
// route (valid, near-valid, garbage) against a real fleet, fixed seed so a
// failure reproduces. The benchmark runs 10,000 per route.

t.test('no body on any route with a body schema gets a 5xx or crashes the fleet', async (t) => {
  const rows = await fuzzHttpBodies(100, () => undefined, 20261123);
  t.ok(rows.length >= 5, `${rows.length} routes with a body schema fuzzed`);
  for (const r of rows) t.equal(r.failures, 0, `${r.name}${r.firstFailure ? `: ${r.firstFailure}` : ''}`);
  t.ok(
    rows.some((r) => r.name === 'POST /sites/import') && rows.some((r) => r.name === 'POST /preregistrations'),
    'the provisioning routes are among them',
  );
  t.ok(
    rows.some((r) => r.accepted > 0),
    'valid bodies reach the handlers',
  );
});
