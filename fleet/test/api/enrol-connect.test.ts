import t from 'tap';
import { deviceTopic } from '@diemcau/shared';
import { connectDevice, startTestFleet, telemetry, waitFor } from '../helpers/fleet.js';

t.test('a box enrols with a site token, connects, reports a birth and telemetry', async (t) => {
  const { api, enrol, fleet } = await startTestFleet(t);
  const creds = await enrol('yb-city-phuong-dong-tam', { serial: 'SN-0001' });
  t.equal(creds.siteId, 'yb-city-phuong-dong-tam');
  t.equal(creds.siteName, 'Phường Đồng Tâm');
  t.match(creds.mqtt.url, new RegExp(`^mqtt://[a-z0-9.]+:${fleet.mqttPort}$`), 'the broker as reached over HTTP');

  const client = await connectDevice(t, creds);
  for (let seq = 1; seq <= 3; seq++) {
    await client.publishAsync(deviceTopic(creds.deviceId, 'telemetry'), JSON.stringify(telemetry(seq)), { qos: 1 });
  }
  // Redelivery of seq 2 is stored once.
  await client.publishAsync(deviceTopic(creds.deviceId, 'telemetry'), JSON.stringify(telemetry(2)), { qos: 1 });

  const dev = await waitFor(
    async () => {
      const r = await api<{
        online: boolean;
        agentVersion: string | null;
        telemetry: { seq: number } | null;
        peripherals: unknown;
      }>('GET', `/api/v1/devices/${creds.deviceId}`);
      return r.body.online && r.body.telemetry?.seq === 3 && r.body.agentVersion ? r.body : undefined;
    },
    10_000,
    'device online with telemetry',
  );
  t.same(dev.peripherals, { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'unknown' });

  const samples = await api<{ items: { seq: number }[] }>(
    'GET',
    `/api/v1/devices/${creds.deviceId}/telemetry?limit=10`,
  );
  t.same(
    samples.body.items.map((s) => s.seq),
    [3, 2, 1],
    'each seq once, newest first',
  );

  const list = await api<{ items: { id: string; online: boolean; telemetry: { seq: number } | null }[] }>(
    'GET',
    '/api/v1/devices?online=true',
  );
  t.same(
    list.body.items.map((d) => d.id),
    [creds.deviceId],
  );
  t.equal(
    list.body.items[0]?.telemetry?.seq,
    3,
    'the list carries the latest sample; the replayed seq 2 did not replace it',
  );
  // A late, older sample (the agent's queue replayed) is stored but does not become the latest.
  await client.publishAsync(deviceTopic(creds.deviceId, 'telemetry'), JSON.stringify(telemetry(10)), { qos: 1 });
  await client.publishAsync(deviceTopic(creds.deviceId, 'telemetry'), JSON.stringify(telemetry(5)), { qos: 1 });
  const seqs = await waitFor(
    async () => {
      const r = await api<{ items: { seq: number }[] }>('GET', `/api/v1/devices/${creds.deviceId}/telemetry`);
      return r.body.items.length === 5 ? r.body.items.map((x) => x.seq) : undefined;
    },
    10_000,
    'five samples',
  );
  t.same(seqs, [10, 5, 3, 2, 1]);
  const again = await api<{ telemetry: { seq: number } }>('GET', `/api/v1/devices/${creds.deviceId}`);
  t.equal(again.body.telemetry.seq, 10);

  const byDistrict = await api<{ items: unknown[] }>('GET', '/api/v1/devices?district=yb-luc-yen');
  t.equal(byDistrict.body.items.length, 0, 'not under Lục Yên');
});

t.test('an enrolment token is single-use by default and stored hashed', async (t) => {
  const { api, fleet } = await startTestFleet(t);
  const tok = await api<{ token: string; expiresAt: string }>('POST', '/api/v1/sites/yb-luc-yen/enrollment-tokens', {
    body: {},
  });
  t.equal(tok.status, 201);
  const first = await api('POST', '/api/v1/enroll', { body: { token: tok.body.token, hardware: {} }, token: null });
  t.equal(first.status, 200);
  const second = await api<{ code: string }>('POST', '/api/v1/enroll', {
    body: { token: tok.body.token, hardware: {} },
    token: null,
  });
  t.equal(second.status, 401);
  t.equal(second.body.code, 'FLEET_ERR_TOKEN_INVALID');
  const stored = await fleet.db.all<{ token_hash: string }>('SELECT token_hash FROM enrollment_tokens');
  t.notOk(
    stored.some((r) => r.token_hash === tok.body.token),
    'token not stored in clear',
  );
});

t.test('a pre-registered serial enrols without a token; re-armed, a re-imaged box keeps its id', async (t) => {
  const { api, fleet } = await startTestFleet(t);
  await fleet.repos.enrollment.registerSerial('SN-42', 'yb-tram-tau-ban-cong');
  const a = await api<{ deviceId: string; siteId: string; mqtt: { password: string } }>('POST', '/api/v1/enroll', {
    body: { hardware: { serial: 'SN-42' } },
    token: null,
  });
  t.equal(a.status, 200);
  t.equal(a.body.siteId, 'yb-tram-tau-ban-cong');
  t.equal(
    (await api('POST', '/api/v1/enroll', { body: { hardware: { serial: 'SN-42' } }, token: null })).status,
    401,
    'spent: the serial alone does not enrol twice',
  );
  await fleet.repos.enrollment.registerSerial('SN-42', 'yb-tram-tau-ban-cong'); // an operator re-arms it for the re-image
  const b = await api<{ deviceId: string; mqtt: { password: string } }>('POST', '/api/v1/enroll', {
    body: { hardware: { serial: 'SN-42' } },
    token: null,
  });
  t.equal(b.body.deviceId, a.body.deviceId, 'same device');
  t.not(b.body.mqtt.password, a.body.mqtt.password, 'new credentials');
  const unknown = await api('POST', '/api/v1/enroll', { body: { hardware: { serial: 'SN-nope' } }, token: null });
  t.equal(unknown.status, 401);
});

t.test('failed enrolments from one address are throttled; valid ones are not', async (t) => {
  const { api, enrol } = await startTestFleet(t, { enrollMaxFailuresPerMin: 3 });
  // Many good enrolments from one address (a province installing boxes) go through.
  for (let i = 0; i < 5; i++) await enrol('yb-van-yen');
  for (let i = 0; i < 3; i++) {
    t.equal(
      (await api('POST', '/api/v1/enroll', { body: { token: `guess-${i}-xxxxxxxx`, hardware: {} }, token: null }))
        .status,
      401,
    );
  }
  const tok = await api<{ token: string }>('POST', '/api/v1/sites/yb-van-yen/enrollment-tokens', { body: {} });
  const blocked = await api<{ code: string }>('POST', '/api/v1/enroll', {
    body: { token: tok.body.token, hardware: {} },
    token: null,
  });
  t.equal(blocked.status, 429);
  t.equal(blocked.body.code, 'FLEET_ERR_RATE_LIMITED');
});
