import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { deviceTopic, presenceCodec, telemetryCodec, type Peripherals, type Telemetry } from '@diemcau/shared';
import { Agent } from '../../src/agent/index.js';
import { loadConfig } from '../../src/config.js';
import { SimulatedCollector } from '../../src/telemetry/index.js';
import { startBroker, type Published, type TestBroker } from '../helpers/broker.js';
import { startEnrolServer, type EnrolServer } from '../helpers/enrol-server.js';

// The agent against a real aedes broker and a real HTTP enrolment endpoint.

const PERIPHERALS: Peripherals = { camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'missing' };

interface Rig {
  broker: TestBroker;
  enrolServer: EnrolServer;
  dataDir: string;
  published: Published[];
  credentials: Map<string, string>;
}

async function rig(t: Test): Promise<Rig> {
  const credentials = new Map<string, string>();
  const published: Published[] = [];
  const broker = await startBroker({ credentials, published });
  const r: Rig = {
    broker,
    enrolServer: await startEnrolServer({ mqttUrl: () => r.broker.url, credentials }),
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-agent-')),
    published,
    credentials,
  };
  t.teardown(async () => {
    await r.broker.close();
    await r.enrolServer.close();
    fs.rmSync(r.dataDir, { recursive: true, force: true });
  });
  return r;
}

function startAgent(t: Test, r: Rig, env: Record<string, string> = {}): Promise<Agent> {
  const config = loadConfig({
    env: {
      DIEMCAU_FLEET_URL: r.enrolServer.url,
      DIEMCAU_DATA_DIR: r.dataDir,
      DIEMCAU_HARDWARE: 'simulated',
      DIEMCAU_TELEMETRY_INTERVAL_SEC: '1',
      DIEMCAU_KEEPALIVE_SEC: '5',
      ...env,
    },
  });
  return Agent.start({
    config,
    log: pino({ level: 'silent' }),
    collector: new SimulatedCollector('test'),
    agentVersion: '9.9.9-test',
    peripherals: async () => PERIPHERALS,
  }).then((a) => {
    t.teardown(() => a.close({ graceful: false }));
    return a;
  });
}

const samples = (all: Published[], deviceId: string): Telemetry[] =>
  all
    .filter((p) => p.topic === deviceTopic(deviceId, 'telemetry'))
    .map((p) => {
      const r = telemetryCodec.decode(p.payload);
      if (!r.ok) throw r.error;
      return r.value;
    });

const presences = (all: Published[], deviceId: string) =>
  all
    .filter((p) => p.topic === deviceTopic(deviceId, 'presence'))
    .map((p) => ({ ...presenceCodec.decode(p.payload), retain: p.retain }));

t.test('enrols once, keeps its identity private, announces itself and sends numbered telemetry', async (t) => {
  const r = await rig(t);
  const token = r.enrolServer.mint('xa-a');
  const agent = await startAgent(t, r, { DIEMCAU_ENROLL_TOKEN: token });
  const id = agent.identity.deviceId;
  t.equal(agent.identity.siteId, 'xa-a');
  const file = path.join(r.dataDir, 'identity.json');
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'identity (with the MQTT password) is owner-only');

  await r.broker.waitFor((all) => samples(all, id).length >= 2, 'two samples');
  const birth = presences(r.published, id)[0]!;
  t.ok(birth.ok && birth.retain, 'birth is retained');
  if (birth.ok) {
    t.equal(birth.value.state, 'online');
    t.equal(birth.value.agentVersion, '9.9.9-test');
    t.equal(birth.value.hardware, 'simulated');
    t.same(birth.value.peripherals, PERIPHERALS);
    t.ok(birth.value.os);
  }
  t.same(
    samples(r.published, id)
      .slice(0, 2)
      .map((s) => s.seq),
    [0, 1],
  );

  // A restart reuses the identity: no second enrolment (the token is spent anyway).
  await agent.close();
  const offline = presences(r.published, id).at(-1)!;
  t.ok(offline.ok && offline.value.state === 'offline' && offline.retain, 'graceful stop says offline, retained');
  const before = samples(r.published, id).length;
  const again = await startAgent(t, r, { DIEMCAU_ENROLL_TOKEN: token });
  t.equal(again.identity.deviceId, id);
  t.equal(r.enrolServer.requests.length, 1, 'enrolled exactly once');
  await r.broker.waitFor((all) => samples(all, id).length >= before + 2, 'samples after restart');
  const seqs = samples(r.published, id).map((s) => s.seq);
  t.same(
    seqs,
    seqs.map((_, i) => i),
    'sequence continues across the restart without reuse or gap',
  );
});

t.test('a cut connection makes the broker publish the retained will; the agent comes back by itself', async (t) => {
  const r = await rig(t);
  const agent = await startAgent(t, r, { DIEMCAU_ENROLL_TOKEN: r.enrolServer.mint('xa-b') });
  const id = agent.identity.deviceId;
  await r.broker.waitFor((all) => presences(all, id).length >= 1, 'birth');
  agent.session.dropConnection();
  await r.broker.waitFor((all) => presences(all, id).some((p) => p.ok && p.value.state === 'offline'), 'will');
  await r.broker.waitFor(
    (all) => presences(all, id).filter((p) => p.ok && p.value.state === 'online').length >= 2,
    'second birth',
  );
  t.pass('will then a new birth');
});

t.test('while the broker is down telemetry waits on disk and arrives complete and in order', async (t) => {
  const r = await rig(t);
  const agent = await startAgent(t, r, { DIEMCAU_ENROLL_TOKEN: r.enrolServer.mint('xa-c') });
  const id = agent.identity.deviceId;
  await r.broker.waitFor((all) => samples(all, id).length >= 1, 'first sample');
  const port = r.broker.port;
  await r.broker.close();
  // Let several samples pile up in the queue.
  while (agent.stats().queue.size < 3) await new Promise((res) => setTimeout(res, 100));
  r.broker = await startBroker({ port, credentials: r.credentials, published: r.published });
  const target = agent.stats().queue.appendedTotal + 1;
  await r.broker.waitFor((all) => new Set(samples(all, id).map((s) => s.seq)).size >= target, 'backlog delivered');
  const seqs = [...new Set(samples(r.published, id).map((s) => s.seq))];
  t.same(
    seqs,
    seqs.map((_, i) => i),
    'no sequence number missing',
  );
  const delivered = samples(r.published, id).map((s) => s.seq);
  t.same(
    delivered,
    [...delivered].sort((a, b) => a - b),
    'delivered in order',
  );
});

t.test('incoming channels reach their handler; a failing handler does not stop the agent', async (t) => {
  const r = await rig(t);
  const agent = await startAgent(t, r, { DIEMCAU_ENROLL_TOKEN: r.enrolServer.mint('xa-d') });
  const id = agent.identity.deviceId;
  const got: string[] = [];
  agent.router.on('commands', (payload) => {
    got.push(payload.toString());
    throw new Error('handler bug');
  });
  await new Promise<void>((res) => (agent.connected ? res() : agent.session.once('connected', () => res())));
  await r.broker.publish(deviceTopic(id, 'commands'), '{"hello":1}');
  await r.broker.publish(deviceTopic(id, 'commands'), '{"hello":2}');
  await r.broker.publish(deviceTopic('someone-else', 'commands'), '{"nope":1}');
  while (got.length < 2) await new Promise((res) => setTimeout(res, 20));
  t.same(got, ['{"hello":1}', '{"hello":2}'], 'only our own topic, both despite the throw');
  t.equal(agent.router.stats().handlerErrors, 2);
  const n = samples(r.published, id).length;
  await r.broker.waitFor((all) => samples(all, id).length > n, 'telemetry still flowing');
});

t.test('publishDurable goes through the queue and rejects oversized payloads', async (t) => {
  const r = await rig(t);
  const agent = await startAgent(t, r, {
    DIEMCAU_ENROLL_TOKEN: r.enrolServer.mint('xa-e'),
    DIEMCAU_TELEMETRY_INTERVAL_SEC: '3600',
  });
  const id = agent.identity.deviceId;
  await agent.publishDurable('command-results', '{"v":1,"commandId":"c1"}');
  await r.broker.waitFor((all) => all.some((p) => p.topic === deviceTopic(id, 'command-results')), 'command result');
  await t.rejects(agent.publishDurable('events', 'x'.repeat(300 * 1024)), { code: 'PROTO_ERR_TOO_LARGE' });
});

t.test('a refused token is final: a clear error, nothing stored', async (t) => {
  const r = await rig(t);
  await t.rejects(startAgent(t, r, { DIEMCAU_ENROLL_TOKEN: 'not-a-real-token' }), { code: 'APPL_ERR_ENROLL' });
  t.notOk(fs.existsSync(path.join(r.dataDir, 'identity.json')));
});

t.test('close() finishes even when the broker stops answering mid-delivery', async (t) => {
  const r = await rig(t);
  const agent = await startAgent(t, r, { DIEMCAU_ENROLL_TOKEN: r.enrolServer.mint('xa-f') });
  const id = agent.identity.deviceId;
  await r.broker.waitFor((all) => samples(all, id).length >= 1, 'first sample');
  r.broker.freeze();
  // An acknowledgement the broker wrote just before it froze may still be on
  // its way: count from when those have landed.
  await new Promise((res) => setTimeout(res, 300));
  // A sample goes out and its PUBACK never comes.
  const sent = agent.stats().sent;
  await agent.publishDurable('events', '{"v":1}');
  await new Promise((res) => setTimeout(res, 300));
  t.equal(agent.stats().sent, sent, 'nothing acknowledged while frozen');
  await agent.close();
  t.ok(agent.stats().queue.size >= 1, 'the unacknowledged record stays queued for the next run');
});

t.test('a full queue drops the oldest and the next delivered sample says how many', async (t) => {
  const r = await rig(t);
  const agent = await startAgent(t, r, {
    DIEMCAU_ENROLL_TOKEN: r.enrolServer.mint('xa-g'),
    DIEMCAU_TELEMETRY_INTERVAL_SEC: '3600',
    DIEMCAU_QUEUE_MAX_RECORDS: '10',
  });
  const id = agent.identity.deviceId;
  await r.broker.waitFor((all) => samples(all, id).length >= 1, 'first sample');
  const port = r.broker.port;
  await r.broker.close();
  while (agent.connected) await new Promise((res) => setTimeout(res, 20));
  const base = samples(r.published, id)[0]!;
  for (let seq = 100; seq < 125; seq++) await agent.publishDurable('telemetry', JSON.stringify({ ...base, seq }));
  r.broker = await startBroker({ port, credentials: r.credentials, published: r.published });
  await r.broker.waitFor((all) => samples(all, id).some((s) => s.seq === 124), 'backlog delivered');
  const after = samples(r.published, id).filter((s) => s.seq >= 100);
  t.same(
    after.map((s) => s.seq),
    [115, 116, 117, 118, 119, 120, 121, 122, 123, 124],
    'the newest ten, in order',
  );
  t.equal(after[0]!.dropped, 15, 'the first one delivered carries the count');
  t.notOk(after[1]!.dropped, 'only that one');
});
