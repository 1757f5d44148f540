// Simulated boxes answer commands like real ones: many agents in one process,
// a real broker, commands published to them, results read back from the wire.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { commandResultCodec, deviceTopic, presenceCodec, type Command } from '@diemcau/shared';
import { startSimulation } from '../../src/sim/simulation.js';
import { startBroker, type Published } from '../helpers/broker.js';
import { startEnrolServer, TEST_ADMIN_TOKEN } from '../helpers/enrol-server.js';

const cmd = (id: string, type: Command['type'], params: Record<string, unknown> = {}): string =>
  JSON.stringify({
    v: 1,
    id,
    type,
    params,
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
  } satisfies Command);

t.test(
  'simulated agents run commands; restart-agent restarts the instance, which answers no command twice',
  async (t) => {
    const credentials = new Map<string, string>();
    const published: Published[] = [];
    const broker = await startBroker({ credentials, published });
    const fleet = await startEnrolServer({ mqttUrl: () => broker.url, credentials, sites: ['s-1', 's-2'] });
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-simcmd-'));
    const sim = await startSimulation({
      fleetUrl: fleet.url,
      adminToken: TEST_ADMIN_TOKEN,
      devices: 2,
      dataRoot,
      telemetryIntervalSec: 60,
      keepaliveSec: 10,
      log: pino({ level: 'silent' }),
    });
    t.teardown(async () => {
      await sim.close({ graceful: false });
      await broker.close();
      await fleet.close();
      fs.rmSync(dataRoot, { recursive: true, force: true });
    });
    const [a, b] = sim.agents;
    const idA = a!.agent.identity.deviceId;
    const births = (id: string) =>
      published.filter(
        (p) =>
          p.topic === deviceTopic(id, 'presence') &&
          presenceCodec.decode(p.payload).ok &&
          JSON.parse(p.payload).state === 'online',
      ).length;
    const results = (id: string) =>
      published
        .filter((p) => p.topic === deviceTopic(id, 'command-results'))
        .map((p) => {
          const d = commandResultCodec.decode(p.payload);
          if (!d.ok) throw d.error;
          return d.value;
        });
    await broker.waitFor(() => births(idA) === 1 && births(b!.agent.identity.deviceId) === 1, 'both online');

    await broker.publish(deviceTopic(idA, 'commands'), cmd('c-id', 'identify'));
    await broker.waitFor(() => results(idA).some((r) => r.commandId === 'c-id'), 'identify answered');
    t.match(
      results(idA).find((r) => r.commandId === 'c-id'),
      { status: 'succeeded', output: { siteName: /s-1|Site/ } },
    );

    const first = a!.agent;
    await broker.publish(deviceTopic(idA, 'commands'), cmd('c-restart', 'restart-agent'));
    await broker.waitFor(() => births(idA) === 2, 'a second birth after the restart');
    t.not(a!.agent, first, 'a new agent instance');
    t.equal(a!.commands?.restarts, 1);
    t.match(
      results(idA).find((r) => r.commandId === 'c-restart'),
      { status: 'succeeded' },
    );

    // The broker redelivers the restart command to the new instance: answered from the store, no second restart.
    await broker.publish(deviceTopic(idA, 'commands'), cmd('c-restart', 'restart-agent'));
    await broker.waitFor(
      () => results(idA).filter((r) => r.commandId === 'c-restart').length === 2,
      'the duplicate answered',
    );
    t.equal(a!.commands?.restarts, 1, 'not restarted twice');
    t.equal(births(idA), 2);
    t.same(results(b!.agent.identity.deviceId), [], 'the other box heard nothing');
  },
);
