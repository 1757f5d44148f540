import t from 'tap';
import { startTestFleet } from '../helpers/fleet.js';
import { operator } from '../helpers/enrol.js';

// A valid token refused by a route's own access check (an area operator
// writing outside its area gets 403 from the handler, not from the auth hook)
// shares the per-operator budget of own audit rows: it cannot flood the log.

t.test("an area operator's refused writes outside its area get at most 20 own rows a minute", async (t) => {
  const { api, fleet } = await startTestFleet(t);
  const token = await operator(api, 'district-operator', 'yb-tram-tau');
  const me = (await api<{ id: string }>('GET', '/api/v1/ui/session', { token })).body.id;
  // Start early in a minute so the burst stays within one.
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 40_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 50));
  const minute = Math.floor(Date.now() / 60_000);
  for (let i = 0; i < 60; i++) {
    const res = await api('POST', '/api/v1/sites/yb-luc-yen/enrollment-tokens', { token, body: {} });
    t.equal(res.status, 403, `refusal ${i}`, { diagnostic: false });
  }
  t.equal(Math.floor(Date.now() / 60_000), minute, 'the burst stayed within one minute');
  const own = (await fleet.repos.audit.list({ limit: 1000 })).filter((e) => e.operatorId === me);
  t.equal(own.length, 20, 'the first 20 have rows of their own; the rest join the aggregate');
  // A write it may do is still audited on its own.
  t.equal((await api('POST', '/api/v1/sites/yb-tram-tau-ban-cong/enrollment-tokens', { token, body: {} })).status, 201);
  t.equal((await fleet.repos.audit.list({ limit: 1000 })).filter((e) => e.operatorId === me).length, 21);
});
