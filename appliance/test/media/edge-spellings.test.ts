// A small deterministic slice of `npm run fuzz`'s edge part (bench/fuzz/edge-http.ts)
// against a real edge process with a real mediasoup worker and a live meeting:
// every route under spellings of its path and credentials that must not open
// it (never a 2xx, never a 5xx, always an answer), then malformed bodies on the
// body routes with the credential that opens them (never a 5xx), and the edge
// still answers its health route after.
import t from 'tap';
import { runEdgeFuzz } from '../../../bench/fuzz/edge-http.js';

t.test('the edge refuses every spelling of its routes without the right token, and survives bad bodies', async (t) => {
  const r = await runEdgeFuzz({ spellingRuns: 100, bodyRuns: 12, seed: 20261202, limit: 300 });
  t.same(r.failures, [], 'no 2xx without the right credential, no 5xx, no request unanswered');
  t.equal(r.exitedWith, null, 'the edge process is still running');
  t.equal(r.healthAfter, 200, 'and answers /media/v1/health');
  t.ok((r.byStatus['401'] ?? 0) > 100, 'the wrong credentials met 401s');
  t.ok((r.byStatus['400'] ?? 0) > 0, 'malformed bodies met 400s');
  t.equal(r.sent, 300 + 7 * 12, 'every case was sent');
});
