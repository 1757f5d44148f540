import t from 'tap';
import { connectDevice, startTestFleet } from '../helpers/fleet.js';
import { enrolRaw, loginAttempt, mintToken } from '../helpers/enrol.js';

// A commune's box whose enrolment answer is lost on the way (a flaky link)
// sends the same request again. With a token it must come back with the same
// device and fresh credentials, as long as that device has never logged in;
// after that a replay gets nothing. The token must be the one that enrolled
// that device, and a serial (printed on the box) never gets a second go.

const SITE = 'yb-city-phuong-dong-tam';

t.test('a spent token enrols its own device again until that device logs in', async (t) => {
  const { api } = await startTestFleet(t);
  const token = await mintToken(api, SITE);
  const first = await enrolRaw(api, { token, hardware: { serial: 'SN-LOST-1' } });
  t.equal(first.status, 200);
  // The answer never reached the box: it asks again with the same token.
  const again = await enrolRaw(api, { token, hardware: { serial: 'SN-LOST-1' } });
  t.equal(again.status, 200, 'the retry is answered');
  t.equal(again.body.deviceId, first.body.deviceId, 'same device, not a second one');
  t.not(again.body.mqtt.password, first.body.mqtt.password, 'with a new password');
  t.match(await loginAttempt(first.body), /^refused/, 'the lost password is void');

  const devices = await api<{ items: { id: string }[] }>('GET', `/api/v1/devices?siteId=${SITE}`);
  t.equal(devices.body.items.filter((d) => d.id === first.body.deviceId).length, 1);

  // Another serial with the spent token: nothing.
  t.equal(
    (await enrolRaw(api, { token, hardware: { serial: 'SN-LOST-OTHER' } })).status,
    401,
    'a spent token enrols nothing new',
  );

  // The box logs in: from now on a replay of the token is refused and the session stays.
  const client = await connectDevice(t, again.body);
  let kicked = false;
  client.on('close', () => (kicked = true));
  const replay = await enrolRaw(api, { token, hardware: { serial: 'SN-LOST-1' } });
  t.equal(replay.status, 401, 'replayed after the first login: refused');
  t.equal(replay.body.code, 'FLEET_ERR_TOKEN_INVALID');
  t.equal(await loginAttempt(again.body), 'connected', 'the box keeps working credentials');
  t.notOk(kicked, 'its session was not cut');
});

t.test(
  'a spent token never takes over a device it did not enrol, and a spent pre-registration never enrols again',
  async (t) => {
    const { api } = await startTestFleet(t);
    // The victim enrolled by its serial and has not logged in yet.
    t.equal(
      (await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-VICTIM', siteId: SITE } })).status,
      201,
    );
    const victim = await enrolRaw(api, { hardware: { serial: 'SN-VICTIM' } });
    t.equal(victim.status, 200);
    // Someone holds a token of the same site, spent on a box of their own (or on none).
    const token = await mintToken(api, SITE);
    t.equal((await enrolRaw(api, { token, hardware: { serial: 'SN-MINE' } })).status, 200);
    const steal = await enrolRaw(api, { token, hardware: { serial: ' sn-victim ' } });
    t.equal(steal.status, 401, 'the spent token gets nothing for a device it did not enrol');
    const bare = await mintToken(api, SITE);
    t.equal((await enrolRaw(api, { token: bare, hardware: {} })).status, 200);
    t.equal(
      (await enrolRaw(api, { token: bare, hardware: { serial: 'SN-VICTIM' } })).status,
      401,
      'nor a token spent on a box without a serial',
    );
    // The serial is printed on the box: its spent arming never enrols again, even before the first login.
    t.equal(
      (await enrolRaw(api, { hardware: { serial: 'SN-VICTIM' } })).status,
      401,
      'a spent pre-registration enrols nothing',
    );
    t.equal(await loginAttempt(victim.body), 'connected', 'the victim still logs in');
  },
);
