import t from 'tap';
import { startTestFleet } from '../helpers/fleet.js';

// Enrolment tokens: counted (`uses`), expiring, kept only as hashes.

t.test('a counted token enrols exactly that many boxes', async (t) => {
  const { api } = await startTestFleet(t);
  const tok = await api<{ token: string; uses: number }>('POST', '/api/v1/sites/yb-mu-cang-chai/enrollment-tokens', {
    body: { uses: 3 },
  });
  t.equal(tok.body.uses, 3);
  const enrol = () => api('POST', '/api/v1/enroll', { token: null, body: { token: tok.body.token, hardware: {} } });
  t.same([(await enrol()).status, (await enrol()).status, (await enrol()).status], [200, 200, 200]);
  t.equal((await enrol()).status, 401, 'the fourth box is refused');
});

t.test('a token stops working when it expires, and only its hash is stored', async (t) => {
  const { api, fleet } = await startTestFleet(t);
  const tok = await api<{ token: string; expiresAt: string }>('POST', '/api/v1/sites/yb-city/enrollment-tokens', {
    body: { uses: 5, ttlSeconds: 60 },
  });
  t.ok(Math.abs(Date.parse(tok.body.expiresAt) - Date.now() - 60_000) < 30_000, 'expires in a minute');
  const later = new Date(Date.parse(tok.body.expiresAt) + 1);
  t.equal(await fleet.repos.enrollment.consumeToken(tok.body.token, later), undefined, 'refused after expiry');
  t.ok(await fleet.repos.enrollment.consumeToken(tok.body.token), 'still good before');
  const dump = JSON.stringify(await fleet.db.all('SELECT * FROM enrollment_tokens'));
  t.notMatch(dump, tok.body.token, 'the token itself is nowhere in the table');
  t.equal(
    (await api('POST', '/api/v1/sites/yb-city/enrollment-tokens', { body: { uses: 0 } })).status,
    400,
    'zero uses is not a token',
  );
});
