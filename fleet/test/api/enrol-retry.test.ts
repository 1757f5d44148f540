import t from 'tap';
import { connectDevice, startTestFleet } from '../helpers/fleet.js';
import { enrolRaw, loginAttempt, mintToken } from '../helpers/enrol.js';

// A commune's box whose enrolment answer is lost on the way (a flaky link)
// sends the same request again. It must come back with the same device and
// fresh credentials, not a refusal that needs an operator, as long as the
// device has never logged in; after that a replay of the spent credential
// gets nothing and the box keeps its session.

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
  t.equal((await enrolRaw(api, { token, hardware: { serial: 'SN-LOST-OTHER' } })).status, 401, 'a spent token enrols nothing new');

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

t.test('a spent pre-registration enrols its own device again until that device logs in', async (t) => {
  const { api } = await startTestFleet(t);
  t.equal((await api('POST', '/api/v1/preregistrations', { body: { serial: 'SN-LOST-2', siteId: SITE } })).status, 201);
  const first = await enrolRaw(api, { hardware: { serial: 'SN-LOST-2' } });
  t.equal(first.status, 200);
  const again = await enrolRaw(api, { hardware: { serial: 'SN-LOST-2' } });
  t.equal(again.status, 200, 'the retry is answered');
  t.equal(again.body.deviceId, first.body.deviceId, 'same device');
  await connectDevice(t, again.body);
  t.equal((await enrolRaw(api, { hardware: { serial: 'SN-LOST-2' } })).status, 401, 'after the first login the serial alone gets nothing');
  t.equal(await loginAttempt(again.body), 'connected');
});
