import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { deviceTopic, presenceCodec } from '@diemcau/shared';
import { startSimulation } from '../../src/sim/simulation.js';
import { startBroker, type Published } from '../helpers/broker.js';
import { startEnrolServer, TEST_ADMIN_TOKEN } from '../helpers/enrol-server.js';

t.test(
  'many agents in one process: tokens minted per site, each device online, a re-run does not enrol again',
  async (t) => {
    const credentials = new Map<string, string>();
    const published: Published[] = [];
    const broker = await startBroker({ credentials, published });
    const fleet = await startEnrolServer({ mqttUrl: () => broker.url, credentials, sites: ['s-1', 's-2', 's-3'] });
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-sim-'));
    t.teardown(async () => {
      await broker.close();
      await fleet.close();
      fs.rmSync(dataRoot, { recursive: true, force: true });
    });
    const common = {
      fleetUrl: fleet.url,
      adminToken: TEST_ADMIN_TOKEN,
      devices: 7,
      dataRoot,
      telemetryIntervalSec: 60,
      keepaliveSec: 10,
      log: pino({ level: 'silent' }),
    };
    const sim = await startSimulation(common);
    t.equal(sim.agents.length, 7);
    t.equal(sim.connectedCount(), 7, 'a start holds its slot until the session is up');
    t.same(
      fleet.minted.sort((a, b) => a.siteId.localeCompare(b.siteId)),
      [
        { siteId: 's-1', uses: 3 },
        { siteId: 's-2', uses: 2 },
        { siteId: 's-3', uses: 2 },
      ],
      'one token per site, round-robin device counts',
    );
    const ids = sim.agents.map((a) => a.agent.identity.deviceId);
    t.equal(new Set(ids).size, 7, 'seven distinct devices');
    t.same(sim.agents.map((a) => a.agent.identity.siteId).sort(), ['s-1', 's-1', 's-1', 's-2', 's-2', 's-3', 's-3']);
    const online = (all: Published[]) =>
      new Set(
        all
          .filter((p) => ids.some((id) => p.topic === deviceTopic(id, 'presence')))
          .filter((p) => {
            const r = presenceCodec.decode(p.payload);
            return r.ok && r.value.state === 'online' && r.value.hardware === 'simulated';
          })
          .map((p) => p.clientId),
      ).size;
    await broker.waitFor((all) => online(all) === 7, 'seven births');
    await sim.close();

    const again = await startSimulation({ ...common, adminToken: undefined });
    t.same(
      again.agents.map((a) => a.agent.identity.deviceId).sort(),
      [...ids].sort(),
      'same devices from their data dirs',
    );
    t.equal(fleet.requests.length, 7, 'no second enrolment');
    await again.close({ graceful: false });
  },
);

t.test('a token spent by a lost answer is replaced: every box still enrols', async (t) => {
  const credentials = new Map<string, string>();
  const broker = await startBroker({ credentials });
  const fleet = await startEnrolServer({ mqttUrl: () => broker.url, credentials, sites: ['s-1'], loseAnswers: 1 });
  const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-sim-'));
  t.teardown(async () => {
    await broker.close();
    await fleet.close();
    fs.rmSync(dataRoot, { recursive: true, force: true });
  });
  const sim = await startSimulation({
    fleetUrl: fleet.url,
    adminToken: TEST_ADMIN_TOKEN,
    devices: 2,
    dataRoot,
    telemetryIntervalSec: 60,
    keepaliveSec: 10,
    concurrency: 1,
    log: pino({ level: 'silent' }),
  });
  t.equal(sim.agents.length, 2, 'both started');
  t.same(
    fleet.minted.map((m) => m.uses),
    [2, 1],
    'a one-use token minted for the box that found the first used up',
  );
  await sim.close({ graceful: false });
});

t.test('slices of one plan in separate simulations: each runs its own devices, together the whole fleet', async (t) => {
  const credentials = new Map<string, string>();
  const broker = await startBroker({ credentials });
  const fleet = await startEnrolServer({ mqttUrl: () => broker.url, credentials, sites: ['s-1', 's-2', 's-3'] });
  const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-sim-'));
  t.teardown(async () => {
    await broker.close();
    await fleet.close();
    fs.rmSync(dataRoot, { recursive: true, force: true });
  });
  const common = {
    fleetUrl: fleet.url,
    adminToken: TEST_ADMIN_TOKEN,
    devices: 5,
    dataRoot,
    telemetryIntervalSec: 60,
    keepaliveSec: 10,
    log: pino({ level: 'silent' }),
  };
  const progress: [number, number, number][] = [];
  const first = await startSimulation({
    ...common,
    slice: { from: 0, to: 2 },
    onProgress: (n, total, e) => progress.push([n, total, e.plan.index]),
  });
  t.same(
    fleet.minted.map((m) => [m.siteId, m.uses]).sort(),
    [
      ['s-1', 1],
      ['s-2', 1],
    ],
    'tokens only for the slice: devices 0 and 1',
  );
  const second = await startSimulation({ ...common, slice: { from: 2, to: 5 } });
  t.same(first.agents.map((a) => a.plan.index).sort(), [0, 1]);
  t.same(second.agents.map((a) => a.plan.index).sort(), [2, 3, 4]);
  t.same(
    second.agents.map((a) => [a.plan.index, a.agent.identity.siteId]).sort(),
    [
      [2, 's-3'],
      [3, 's-1'],
      [4, 's-2'],
    ],
    'sites by the global index',
  );
  t.same(
    progress.map(([n, total]) => [n, total]),
    [
      [1, 2],
      [2, 2],
    ],
    'progress counts the slice',
  );
  t.same(progress.map(([, , i]) => i).sort(), [0, 1], 'progress names each started device');
  const dirs = fs.readdirSync(dataRoot).sort();
  t.same(
    dirs,
    ['device-00000', 'device-00001', 'device-00002', 'device-00003', 'device-00004'],
    'one folder per device, none shared',
  );
  t.equal(
    new Set([...first.agents, ...second.agents].map((a) => a.agent.identity.deviceId)).size,
    5,
    'five distinct devices',
  );
  await first.close({ graceful: false });
  await second.close({ graceful: false });
});
