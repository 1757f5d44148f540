import t from 'tap';
import { connectDevice, startTestFleet, waitFor } from '../helpers/fleet.js';
import { closed, enrolRaw, loginAttempt, metricValue, mintToken, operator, sessionAlive } from '../helpers/enrol.js';

// A box cannot be taken over by its hardware serial: a token makes a new
// device in its own site and never adopts one; a pre-registration keeps a
// device id only for the same site and only once per arming; a revoked device
// stays revoked. Checked with the real broker: the real box keeps its session
// and its credentials still log in after each attack.

const CITY = 'yb-city-phuong-dong-tam'; // district yb-city
const CITY_2 = 'yb-city-phuong-hong-ha';
const TRAM_TAU = 'yb-tram-tau-ban-cong'; // district yb-tram-tau

t.test('a token from another district plus a box serial is refused; the real box stays connected', async (t) => {
  const { api, enrol } = await startTestFleet(t);
  const real = await enrol(CITY, { serial: 'SN-VICTIM' });
  const client = await connectDevice(t, real);
  let kicked = false;
  client.on('close', () => (kicked = true));

  const attacker = await operator(api, 'district-operator', 'yb-tram-tau');
  const token = await mintToken(api, TRAM_TAU, attacker);
  const res = await enrolRaw(api, { token, hardware: { serial: 'SN-VICTIM' } });
  t.equal(res.status, 409, 'refused');
  t.equal(res.body.code, 'FLEET_ERR_SERIAL_IN_USE');
  t.notMatch(
    res.body.message ?? '',
    new RegExp(`${CITY}|${real.deviceId}`),
    'the answer does not say where the box is',
  );

  const dev = await api<{ siteId: string }>('GET', `/api/v1/devices/${real.deviceId}`);
  t.equal(dev.body.siteId, CITY, 'the device did not move');
  t.ok((await sessionAlive(client, real.deviceId, 1)) && !kicked, 'the real session was not cut');
  t.equal(await loginAttempt(real), 'connected', 'the real credentials still log in');

  // The refusal spent nothing: the token still enrols a box of its own.
  const own = await enrolRaw(api, { token, hardware: { serial: 'SN-TT-OWN' } });
  t.equal(own.status, 200, 'a refused attempt did not use the token');
  t.equal(own.body.siteId, TRAM_TAU);
  t.not(own.body.deviceId, real.deviceId);
  t.equal(
    await metricValue(api, /^diemcau_enrolments_refused_total\{reason="serial-other-site"\}/),
    1,
    'the refusal is counted',
  );
  const audit = await api<{ items: { action: string; outcome: string; details: { reason?: string } }[] }>(
    'GET',
    '/api/v1/audit?target=serial:SN-VICTIM',
  );
  t.match(
    audit.body.items[0],
    { action: 'device.enrol', outcome: 'refused', details: { reason: 'serial-other-site' } },
    'and audited',
  );
});

t.test(
  'a token for the same site does not adopt a live device either; re-imaging keeps the id only through a pre-registration',
  async (t) => {
    const { api, enrol } = await startTestFleet(t);
    const real = await enrol(CITY, { serial: 'SN-SAME' });
    const client = await connectDevice(t, real);
    const token = await mintToken(api, CITY);
    const res = await enrolRaw(api, { token, hardware: { serial: 'SN-SAME' } });
    t.equal(res.status, 409);
    t.equal(res.body.code, 'FLEET_ERR_SERIAL_IN_USE');
    t.match(res.body.message, /pre-register/, 'the answer says how to re-image');
    t.ok(await sessionAlive(client, real.deviceId, 1), 'the real session was not cut');

    // The operator re-arms the serial for the same site: the re-imaged box keeps its id.
    t.equal((await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-SAME', siteId: CITY } })).status, 201);
    const kicked = closed(client);
    kicked.catch(() => undefined); // awaited below; a rejection before then is not unhandled
    const again = await enrolRaw(api, { token, hardware: { serial: 'SN-SAME' } });
    t.equal(again.status, 200);
    t.equal(again.body.deviceId, real.deviceId, 'same device id');
    await kicked;
    t.match(await loginAttempt(real), /^refused/, 'the old credentials are void');
    t.equal(await loginAttempt(again.body), 'connected');
    // The arming is spent: the serial alone does not re-enrol it a second time.
    t.equal((await enrolRaw(api, { hardware: { serial: 'SN-SAME' } })).status, 401);
    t.equal(await loginAttempt(again.body), 'connected', 'and the box is not locked out');
    const audit = await api<{ items: { action: string; details: { by: string } }[] }>(
      'GET',
      `/api/v1/audit?target=device:${real.deviceId}`,
    );
    t.match(
      audit.body.items.map((a) => a.action),
      ['device.reenrol', 'device.enrol'],
    );
    t.match(audit.body.items[0], {
      action: 'device.reenrol',
      details: { by: 'token', serial: 'SN-SAME', siteId: CITY },
    });
    const armed = await api<{ items: { action: string; outcome: string; details: unknown }[] }>(
      'GET',
      '/api/v1/audit?target=serial:SN-SAME',
    );
    t.match(
      armed.body.items.find((a) => a.action === 'POST /api/v1/preregistrations'),
      { outcome: '201', details: { siteId: CITY, reimages: real.deviceId } },
      'the arming says which device it re-images',
    );
  },
);

t.test('a pre-registration re-images only a device of its own site', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const real = await enrol(CITY, { serial: 'SN-MOVE' });
  // Pointing the serial at another site is refused even to an admin: moving a box is revoke, then enrol.
  const moved = await api<{ code: string }>('POST', '/api/v1/preregistrations', {
    body: { serial: 'SN-MOVE', siteId: CITY_2 },
  });
  t.equal(moved.status, 409);
  t.equal(moved.body.code, 'FLEET_ERR_SERIAL_IN_USE');
  // Even if such a row got into the registry (an older fleet wrote it), enrolment refuses it.
  await fleet.repos.enrollment.registerSerial('SN-MOVE', CITY_2);
  const res = await enrolRaw(api, { hardware: { serial: 'SN-MOVE' } });
  t.equal(res.status, 409);
  t.equal(await loginAttempt(real), 'connected');
  t.equal((await api<{ siteId: string }>('GET', `/api/v1/devices/${real.deviceId}`)).body.siteId, CITY);
});

t.test(
  'a district operator cannot pre-register a serial bound outside its district, so no token-less takeover',
  async (t) => {
    const { api, enrol } = await startTestFleet(t);
    const real = await enrol(CITY, { serial: 'SN-CITY-1' });
    const client = await connectDevice(t, real);
    const op = await operator(api, 'district-operator', 'yb-tram-tau');
    const pre = await api<{ code: string }>('POST', '/api/v1/preregistrations', {
      token: op,
      body: { serial: 'SN-CITY-1', siteId: TRAM_TAU },
    });
    t.equal(pre.status, 403, 'the serial is bound to a device outside its district');
    const res = await enrolRaw(api, { hardware: { serial: 'SN-CITY-1' } });
    t.equal(res.status, 401, 'no token-less enrolment');
    t.ok(await sessionAlive(client, real.deviceId, 1), 'the real session was not cut');
    t.equal(await loginAttempt(real), 'connected');
    // Spelled differently, the serial is the same box.
    t.equal(
      (await api('POST', '/api/v1/preregistrations', { token: op, body: { serial: ' sn-city-1 ', siteId: TRAM_TAU } }))
        .status,
      403,
    );
    t.equal(
      (
        await api('POST', '/api/v1/preregistrations', {
          token: op,
          body: { serial: 'ＳＮ-ＣＩＴＹ-１', siteId: TRAM_TAU },
        })
      ).status,
      403,
      'full-width forms too',
    );

    // Out of scope also: a serial pre-registered for another district, its deletion, tokens for its sites.
    t.equal(
      (await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-CITY-2', siteId: CITY } })).status,
      201,
    );
    t.equal(
      (await api('POST', '/api/v1/preregistrations', { token: op, body: { serial: 'SN-CITY-2', siteId: TRAM_TAU } }))
        .status,
      403,
    );
    t.equal((await api('DELETE', '/api/v1/preregistrations/SN-CITY-2', { token: op })).status, 403);
    t.equal(
      (await api('DELETE', '/api/v1/preregistrations/sn-city-2', { token: op })).status,
      403,
      'whatever the spelling',
    );
    t.equal((await api('POST', `/api/v1/sites/${CITY}/enrollment-tokens`, { token: op, body: {} })).status, 403);
    // In scope it works, and the serial is stored in one spelling.
    const mine = await api<{ serial: string }>('POST', '/api/v1/preregistrations', {
      token: op,
      body: { serial: '  tt-0001 ', siteId: TRAM_TAU },
    });
    t.equal(mine.status, 201);
    t.equal(mine.body.serial, 'TT-0001');
  },
);

t.test('a token cannot claim a serial pre-registered for another site (a box still on its way)', async (t) => {
  const { api } = await startTestFleet(t);
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-PENDING', siteId: CITY } })).status,
    201,
  );
  const token = await mintToken(api, TRAM_TAU);
  const res = await enrolRaw(api, { token, hardware: { serial: 'SN-PENDING' } });
  t.equal(res.status, 409);
  t.equal(res.body.code, 'FLEET_ERR_SERIAL_IN_USE');
  const box = await enrolRaw(api, { hardware: { serial: 'sn-pending' } });
  t.equal(box.status, 200, 'the real box still enrols by its serial');
  t.equal(box.body.siteId, CITY);
  // A token and the pre-registration of the same site together: one new device, both spent.
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-BOTH', siteId: TRAM_TAU } })).status,
    201,
  );
  const both = await enrolRaw(api, { token, hardware: { serial: 'SN-BOTH' } });
  t.equal(both.status, 200);
  t.equal(both.body.siteId, TRAM_TAU);
  t.equal((await enrolRaw(api, { hardware: { serial: 'SN-BOTH' } })).status, 401, 'the pre-registration is spent');
  const list = await api<{ items: { serial: string; deviceId: string | null; usedAt: string | null }[] }>(
    'GET',
    '/api/v1/preregistrations',
  );
  t.match(
    list.body.items.find((r) => r.serial === 'SN-BOTH'),
    { deviceId: both.body.deviceId, usedAt: String },
  );
});

t.test('a pre-registered serial enrols once; a second enrolment by serial alone cannot lock the box out', async (t) => {
  const { api } = await startTestFleet(t);
  t.equal((await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-ONCE', siteId: CITY } })).status, 201);
  const first = await enrolRaw(api, { hardware: { serial: 'SN-ONCE' } });
  t.equal(first.status, 200);
  const client = await connectDevice(t, first.body);
  const second = await enrolRaw(api, { hardware: { serial: 'SN-ONCE' } });
  t.equal(second.status, 401);
  t.equal(second.body.code, 'FLEET_ERR_TOKEN_INVALID');
  t.ok(await sessionAlive(client, first.body.deviceId, 1), 'the real session was not cut');
  t.equal(await loginAttempt(first.body), 'connected');
  t.equal(await metricValue(api, /^diemcau_enrolments_refused_total\{reason="preregistration-used"\}/), 1);
});

t.test('a revoked device stays revoked: neither its serial nor a token brings it back', async (t) => {
  const { api } = await startTestFleet(t);
  t.equal((await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-GONE', siteId: CITY } })).status, 201);
  const first = await enrolRaw(api, { hardware: { serial: 'SN-GONE' } });
  t.equal(first.status, 200);
  t.equal((await api('DELETE', `/api/v1/devices/${first.body.deviceId}`)).status, 204);

  t.equal((await enrolRaw(api, { hardware: { serial: 'SN-GONE' } })).status, 401, 'its serial alone does nothing');
  const token = await mintToken(api, CITY);
  const byToken = await enrolRaw(api, { token, hardware: { serial: 'SN-GONE' } });
  t.equal(byToken.status, 200, 'a token enrols the hardware as a new device');
  t.not(byToken.body.deviceId, first.body.deviceId, 'not the revoked one');
  t.equal(
    (await api('GET', `/api/v1/devices/${first.body.deviceId}`)).status,
    404,
    'the revoked device is still revoked',
  );
  t.match(await loginAttempt(first.body), /^refused/);
  const row = (await api<{ items: { id: string }[] }>('GET', '/api/v1/devices')).body.items.map((d) => d.id);
  t.same(row, [byToken.body.deviceId]);
  // Re-arming the serial re-images the new device (same site), never the revoked one.
  t.equal((await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-GONE', siteId: CITY } })).status, 201);
  const again = await enrolRaw(api, { hardware: { serial: 'SN-GONE' } });
  t.equal(again.body.deviceId, byToken.body.deviceId);
  t.equal((await api('GET', `/api/v1/devices/${first.body.deviceId}`)).status, 404);
});

t.test('one single-use token or one arming raced by many enrolments enrols exactly one box', async (t) => {
  // No failure limit: the 21 refusals below all come from one address.
  const { api, fleet } = await startTestFleet(t, { enrollMaxFailuresPerMin: 0 });
  const token = await mintToken(api, CITY);
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => enrolRaw(api, { token, hardware: { serial: `SN-RACE-${i}` } })),
  );
  t.same(answers.map((a) => a.status).sort(), [200, 401, 401, 401, 401, 401, 401, 401]);
  t.equal((await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-RACE-P', siteId: CITY } })).status, 201);
  const byPre = await Promise.all(
    Array.from({ length: 8 }, () => enrolRaw(api, { hardware: { serial: 'SN-RACE-P' } })),
  );
  t.same(byPre.map((a) => a.status).sort(), [200, 401, 401, 401, 401, 401, 401, 401]);
  // Eight tokens for one serial at one site: one device, the others told it is in use.
  const tokens = await Promise.all(Array.from({ length: 8 }, () => mintToken(api, CITY)));
  const same = await Promise.all(tokens.map((tk) => enrolRaw(api, { token: tk, hardware: { serial: 'SN-RACE-T' } })));
  t.same(same.map((a) => a.status).sort(), [200, 409, 409, 409, 409, 409, 409, 409]);
  const unspent = await Promise.all(
    tokens.map((tk, i) => enrolRaw(api, { token: tk, hardware: { serial: `SN-RACE-U${i}` } })),
  );
  t.same(
    unspent.map((a) => a.status).sort(),
    [200, 200, 200, 200, 200, 200, 200, 401],
    'the refused tokens were not spent',
  );
  const count = await fleet.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM devices WHERE serial LIKE 'SN-RACE%'");
  t.equal(count?.n, 10);
});

t.test('serials: one spelling whatever the case, width or spaces; invisible or over-long ones refused', async (t) => {
  const { api, enrol } = await startTestFleet(t);
  const real = await enrol(CITY, { serial: 'Ab-12 34' });
  t.equal((await api<{ serial: string }>('GET', `/api/v1/devices/${real.deviceId}`)).body.serial, 'AB-12 34');
  const token = await mintToken(api, TRAM_TAU);
  for (const spelling of ['ab-12 34', ' AB-12   34 ', 'ＡＢ－１２\u00a0３４']) {
    const r = await enrolRaw(api, { token, hardware: { serial: spelling } });
    t.equal(r.status, 409, `"${spelling}" is the same box`);
  }
  for (const bad of ['AB-12\u200b34', 'AB\u202e-1234', 'АВ-12 34' /* Cyrillic */, 'AB\u000734']) {
    const r = await enrolRaw(api, { token, hardware: { serial: bad } });
    t.equal(r.status, 400, `${JSON.stringify(bad)} refused`);
    t.equal(r.body.code, 'FLEET_ERR_BAD_REQUEST');
  }
  t.equal((await enrolRaw(api, { token, hardware: { serial: 'X'.repeat(129) } })).status, 400, 'too long');
  // NFKC can lengthen a string: the limit holds after it.
  t.equal(
    (await enrolRaw(api, { token, hardware: { serial: '\u3392'.repeat(50) } })).status,
    400,
    'too long once normalised',
  );
  t.equal(
    (await api('POST', '/api/v1/preregistrations', { body: { serial: 'AB-12\u200b34', siteId: CITY } })).status,
    400,
  );
  t.equal(await loginAttempt(real), 'connected');
  const ok = await enrolRaw(api, { token, hardware: { serial: 'tt-ok-1' } });
  t.equal(ok.status, 200, 'the token was spent by none of the refusals');
});

t.test('many refusals from one address are throttled', async (t) => {
  const { api, enrol } = await startTestFleet(t, { enrollMaxFailuresPerMin: 3 });
  await enrol(CITY, { serial: 'SN-T' });
  const token = await mintToken(api, TRAM_TAU);
  for (let i = 0; i < 3; i++) t.equal((await enrolRaw(api, { token, hardware: { serial: 'SN-T' } })).status, 409);
  t.equal(
    (await enrolRaw(api, { token, hardware: { serial: 'SN-T' } })).status,
    429,
    'probing serials with a good token is throttled too',
  );
  await waitFor(
    async () => (await metricValue(api, /^diemcau_enrolments_refused_total\{reason="rate-limited"\}/)) === 1,
    2000,
    'counted',
  );
});

t.test(
  'a failure after the token is checked spends nothing: the token is used with the device or not at all',
  async (t) => {
    const { api, fleet } = await startTestFleet(t);
    const token = await mintToken(api, CITY);
    // The registry refuses this one device row, as a full disk or a constraint would, after the
    // token has been found good.
    await fleet.db.exec(`CREATE TRIGGER test_refuse_row BEFORE INSERT ON devices WHEN NEW.serial = 'SN-FAIL'
    BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    const failed = await enrolRaw(api, { token, hardware: { serial: 'SN-FAIL' } });
    t.equal(failed.status, 500);
    const ok = await enrolRaw(api, { token, hardware: { serial: 'SN-AFTER' } });
    t.equal(ok.status, 200, 'the token still enrols one box');
    t.equal((await enrolRaw(api, { token, hardware: { serial: 'SN-AFTER-2' } })).status, 401, 'and only one');
    // The same holds for a pre-registration.
    t.equal((await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-FAIL', siteId: CITY } })).status, 201);
    t.equal((await enrolRaw(api, { hardware: { serial: 'SN-FAIL' } })).status, 500);
    await fleet.db.exec('DROP TRIGGER test_refuse_row');
    t.equal(
      (await enrolRaw(api, { hardware: { serial: 'SN-FAIL' } })).status,
      200,
      'the pre-registration is still armed',
    );
  },
);
