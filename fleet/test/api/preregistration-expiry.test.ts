import t from 'tap';
import { startTestFleet } from '../helpers/fleet.js';
import { enrolRaw, mintToken } from '../helpers/enrol.js';

// A box's serial is printed on it: while its pre-registration is armed,
// whoever reads it may enrol in the box's place. An arming therefore lasts a
// set time (ttlSec, default DIEMCAU_PREREGISTRATION_TTL_SEC), after which it
// enrols nothing and reserves nothing, until an operator arms it again.

const SITE = 'yb-city-phuong-dong-tam';
const OTHER = 'yb-tram-tau-ban-cong';

t.test('an expired pre-registration enrols nothing and reserves nothing; re-arming brings it back', async (t) => {
  const { api, fleet } = await startTestFleet(t);
  const before = Date.now();
  const reg = await api<{ armedUntil: string }>('POST', '/api/v1/preregistrations', {
    body: { serial: 'SN-EXP-1', siteId: SITE, ttlSec: 3600 },
  });
  t.equal(reg.status, 201);
  const until = Date.parse(reg.body.armedUntil);
  t.ok(until >= before + 3_599_000 && until <= Date.now() + 3_601_000, 'armed for the hour asked for');
  const byDefault = await api<{ armedUntil: string }>('POST', '/api/v1/preregistrations', {
    body: { serial: 'SN-EXP-2', siteId: SITE },
  });
  t.ok(Date.parse(byDefault.body.armedUntil) > Date.now() + 29 * 24 * 3600_000, 'thirty days by default');

  // The hour passes (the clock in the registry is moved, not the test's).
  await fleet.db.run("UPDATE device_serials SET armed_until = ? WHERE serial = 'SN-EXP-1'", [
    new Date(Date.now() - 1000).toISOString(),
  ]);
  const late = await enrolRaw(api, { hardware: { serial: 'SN-EXP-1' } });
  t.equal(late.status, 401, 'the serial alone no longer enrols');
  t.match(late.body.message, /expired/);

  // Nor does it keep the serial for its site: a token of another site may take it.
  const token = await mintToken(api, OTHER);
  const other = await enrolRaw(api, { token, hardware: { serial: 'SN-EXP-1' } });
  t.equal(other.status, 200, 'an expired arming reserves nothing');
  t.equal(other.body.siteId, OTHER);

  // Re-armed in time, a pre-registration works again.
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-EXP-3', siteId: SITE, ttlSec: 60 } })).status,
    201,
  );
  t.equal((await enrolRaw(api, { hardware: { serial: 'SN-EXP-3' } })).status, 200);
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-EXP-4', siteId: SITE, ttlSec: 30 } })).status,
    400,
    'under a minute is refused',
  );
});
