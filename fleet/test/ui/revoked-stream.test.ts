import t from 'tap';
import { ADMIN_TOKEN, startTestFleet } from '../helpers/fleet.js';
import { operator } from '../helpers/enrol.js';

// A revoked token keeps nothing: the live feed it opened ends at once, and it
// hears nothing of what happens afterwards (an enrolment in its area).

t.test('revoking an operator ends its open live feed', async (t) => {
  const { api, fleet, enrol } = await startTestFleet(t);
  const token = await operator(api, 'district-operator', 'yb-tram-tau');
  const me = (await api<{ id: string }>('GET', '/api/v1/ui/session', { token })).body.id;
  const res = await fetch(`http://127.0.0.1:${fleet.httpPort}/api/v1/events`, {
    headers: { authorization: `Bearer ${token}` },
  });
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

t.test(
  'one operator holds at most 16 live streams; another operator is not affected; a closed one frees its slot',
  async (t) => {
    const { api, fleet } = await startTestFleet(t);
    const token = await operator(api, 'viewer');
    const url = `http://127.0.0.1:${fleet.httpPort}/api/v1/events`;
    const open = async (tk: string) => {
      const ctrl = new AbortController();
      const res = await fetch(url, { headers: { authorization: `Bearer ${tk}` }, signal: ctrl.signal });
      return { status: res.status, close: () => ctrl.abort() };
    };
    const streams: Array<{ status: number; close(): void }> = [];
    for (let i = 0; i < 16; i++) streams.push(await open(token));
    t.teardown(() => {
      for (const s of streams) s.close();
    });
    t.ok(
      streams.every((s) => s.status === 200),
      '16 streams open',
    );
    const over = await open(token);
    t.equal(over.status, 429, 'the 17th is refused');
    const admin = await open(ADMIN_TOKEN);
    t.equal(admin.status, 200, 'another operator still gets one');
    admin.close();
    streams.pop()!.close();
    let again = 0;
    for (let i = 0; i < 40 && again !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const s = await open(token);
      again = s.status;
      if (again === 200) streams.push(s);
    }
    t.equal(again, 200, 'a closed stream frees its slot');
  },
);
