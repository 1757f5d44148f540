import t from 'tap';
import { startTestFleet } from '../helpers/fleet.js';
import { operator } from '../helpers/enrol.js';

// A revoked token keeps nothing: the live feed it opened ends at once, and it
// hears nothing of what happens afterwards (an enrolment in its area).

t.test("revoking an operator ends its open live feed", async (t) => {
  const { api, fleet, enrol } = await startTestFleet(t);
  const token = await operator(api, 'district-operator', 'yb-tram-tau');
  const me = (await api<{ id: string }>('GET', '/api/v1/ui/session', { token })).body.id;
  const res = await fetch(`http://127.0.0.1:${fleet.httpPort}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(res.status, 200);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = dec.decode((await reader.read()).value);
  t.match(text, /"hello"/, 'the stream is open');

  t.equal((await api('DELETE', `/api/v1/operators/${me}`)).status, 204);
  await enrol('yb-tram-tau-ban-cong');
  const ended = await Promise.race([
    (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return true;
        text += dec.decode(value);
      }
    })(),
    new Promise<false>((r) => setTimeout(() => r(false), 5000)),
  ]);
  t.ok(ended, 'the server ended the stream');
  t.notMatch(text, /"enrolled"/, 'nothing that happened after the revocation reached it');
  if (!ended) await reader.cancel();
});
