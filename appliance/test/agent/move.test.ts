// A box moves to another fleet only on a statement signed by the key it got
// at enrolment (shared/src/fleet-move.ts). A real agent, two real brokers: a
// forged, tampered, expired, other-box or replayed statement retained on its
// 'move' channel is refused, reported on 'events', and changes nothing; a
// genuine one takes it to the other broker with its queue, so the telemetry
// sequence runs on without a gap across the two.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import {
  deviceTopic,
  newFleetKeyPair,
  newMoveId,
  signMove,
  telemetryCodec,
  type FleetMoveEvent,
  type MoveStatement,
} from '@diemcau/shared';
import { Agent } from '../../src/agent/index.js';
import { loadConfig } from '../../src/config.js';
import { SimulatedCollector } from '../../src/telemetry/index.js';
import { startBroker, type Published, type TestBroker } from '../helpers/broker.js';
import { startEnrolServer } from '../helpers/enrol-server.js';

const keysA = newFleetKeyPair();
const keysB = newFleetKeyPair();
const attacker = newFleetKeyPair();
const trustA = { fleetId: 'fleet-a', publicKey: keysA.publicKey };
const trustB = { fleetId: 'fleet-b', publicKey: keysB.publicKey };

const events = (all: Published[], deviceId: string): FleetMoveEvent[] =>
  all
    .filter((p) => p.topic === deviceTopic(deviceId, 'events'))
    .map((p) => JSON.parse(p.payload) as FleetMoveEvent)
    .filter((e) => e.kind === 'fleet-move');
const seqs = (all: Published[], deviceId: string): number[] =>
  all
    .filter((p) => p.topic === deviceTopic(deviceId, 'telemetry'))
    .flatMap((p) => {
      const d = telemetryCodec.decode(p.payload);
      return d.ok ? [d.value.seq] : [];
    });

t.test('only a move signed by its own fleet takes a box elsewhere; the rest are refused and reported', async (t) => {
  const credentials = new Map<string, string>();
  const a: TestBroker = await startBroker({ credentials });
  const b: TestBroker = await startBroker({ credentials });
  // What the box said to either broker, in one list.
  const published = {
    filter: (f: (p: Published) => boolean): Published[] => [...a.published, ...b.published].filter(f),
  } as Published[];
  const enrol = await startEnrolServer({ mqttUrl: () => a.url, credentials, trust: trustA });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-move-'));
  t.teardown(async () => {
    await a.close();
    await b.close();
    await enrol.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const config = loadConfig({
    env: {
      DIEMCAU_FLEET_URL: enrol.url,
      DIEMCAU_ENROLL_TOKEN: enrol.mint('site-1'),
      DIEMCAU_DATA_DIR: dataDir,
      DIEMCAU_HARDWARE: 'simulated',
      DIEMCAU_TELEMETRY_INTERVAL_SEC: '1',
      DIEMCAU_KEEPALIVE_SEC: '5',
    },
  });
  const agent = await Agent.start({
    config,
    log: pino({ level: 'silent' }),
    collector: new SimulatedCollector('move'),
    agentVersion: '9.9.9-test',
    peripherals: async () => ({ camera: 'ok', microphone: 'ok', display: 'ok', gpio: 'missing' }),
  });
  t.teardown(() => agent.close({ graceful: false }));
  const id = agent.identity.deviceId;
  t.same(agent.identity.trust, trustA, 'the fleet key from enrolment is kept');
  await a.waitFor((all) => seqs(all, id).length >= 2, 'telemetry on the first broker');

  const now = Date.now();
  const statement = (over: Partial<MoveStatement> = {}): MoveStatement => ({
    v: 1,
    kind: 'fleet-move',
    moveId: newMoveId(),
    deviceId: id,
    fromFleetId: 'fleet-a',
    issuedAt: new Date(now - 1000).toISOString(),
    expiresAt: new Date(now + 3600_000).toISOString(),
    to: { trust: trustB, fleetUrl: 'http://127.0.0.1:1', mqttUrls: [b.url] },
    ...over,
  });
  const moveTopic = deviceTopic(id, 'move');
  const attempt = async (payload: string, want: string): Promise<void> => {
    const before = events(a.published, id).length;
    await a.publish(moveTopic, payload, true);
    await a.waitFor((all) => events(all, id).length > before, `the answer to a ${want} move`);
    const answer = events(a.published, id)[before]!;
    t.equal(answer.outcome, 'refused', `${want}: refused`);
    t.equal(answer.reason, want, `${want}: reported with its reason`);
    t.equal(agent.session.url, a.url, `${want}: still on its own broker`);
  };
  await attempt(JSON.stringify(statement()), 'malformed'); // unsigned
  await attempt(JSON.stringify(signMove(statement(), attacker.privateKey)), 'bad-signature');
  await attempt(JSON.stringify(signMove(statement(), keysB.privateKey)), 'bad-signature');
  const genuine = signMove(statement(), keysA.privateKey);
  await attempt(
    JSON.stringify({ ...genuine, payload: genuine.payload.replace(b.url, 'mqtt://evil:1') }),
    'bad-signature',
  );
  await attempt(JSON.stringify(signMove(statement({ deviceId: 'dev-other' }), keysA.privateKey)), 'other-device');
  const expired = statement({
    issuedAt: new Date(now - 7200_000).toISOString(),
    expiresAt: new Date(now - 1).toISOString(),
  });
  await attempt(JSON.stringify(signMove(expired, keysA.privateKey)), 'expired');
  t.same(agent.move?.followed, 0, 'nothing followed');
  t.equal(
    JSON.parse(fs.readFileSync(path.join(dataDir, 'identity.json'), 'utf8')).mqtt.url,
    a.url,
    'identity unchanged',
  );

  // The genuine move: to B, with the queue.
  const firstMove = statement({ issuedAt: new Date(now - 500).toISOString() });
  await a.publish(moveTopic, JSON.stringify(signMove(firstMove, keysA.privateKey)), true);
  await b.waitFor(
    (all) => all.some((p) => p.topic === deviceTopic(id, 'presence') && p.payload.includes('"online"')),
    'the box on the second broker',
  );
  const saved = JSON.parse(fs.readFileSync(path.join(dataDir, 'identity.json'), 'utf8'));
  t.equal(saved.mqtt.url, b.url, 'the identity names the new broker');
  t.same(saved.trust, trustB, "and trusts the new fleet's key from now on");
  t.equal(saved.mqtt.password, credentials.get(id), 'with the same credentials');
  t.ok(
    events(published, id).some((e) => e.outcome === 'followed' && e.moveId === firstMove.moveId),
    'the move is reported',
  );
  const lastOnA = Math.max(...seqs(a.published, id));
  await b.waitFor((all) => seqs(all, id).filter((s) => s > lastOnA).length >= 3, 'telemetry on the second broker');
  const all = [...new Set(seqs(published, id))].sort((x, y) => x - y);
  t.same(
    all,
    Array.from({ length: all.length }, (_, i) => all[0]! + i),
    'no gap in the sequence across the move',
  );

  // Moved back by B (B signs now), then A's earlier statement, still retained on A, comes again: a replay.
  const back = statement({
    fromFleetId: 'fleet-b',
    issuedAt: new Date().toISOString(),
    to: { trust: trustA, fleetUrl: 'http://127.0.0.1:1', mqttUrls: [a.url] },
  });
  const before = events(a.published, id).length;
  await b.publish(moveTopic, JSON.stringify(signMove(back, keysB.privateKey)), true);
  await a.waitFor(
    (all) =>
      events(all, id)
        .slice(before)
        .some((e) => e.outcome === 'refused' && e.reason === 'replayed'),
    'the replayed first move refused on the way back',
  );
  t.equal(agent.session.url, a.url, 'back on the first broker, and it stays there');
  t.equal(agent.move?.followed, 2);
});
