// A node starved past the node timeout is declared dead while it still
// runs, with real processes (two fleet nodes on PostgreSQL and Redis): node
// b is stopped (SIGSTOP) for longer than the timeout with a box connected to
// it, then woken. The leader has ended b's sessions for every node, yet the
// box never left b: b must announce its sessions again, so the box counts
// online once more without reconnecting, on every node.
import t from 'tap';
import type { MqttClient } from 'mqtt';
import type { EnrolResponse } from '@diemcau/shared';
import { connectDevice, waitFor } from '../helpers/fleet.js';
import { get, health, pgRedisPair, post } from '../helpers/cluster-nodes.js';

interface Alert {
  key: string;
  state: string;
}

t.test('a node declared dead while it ran announces its sessions again', async (t) => {
  const { start } = await pgRedisPair(t, {});
  const a = await start('a');
  await waitFor(async () => (await health(a))?.leader, 15_000, 'node a leads');
  const b = await start('b');

  const { token } = await post<{ token: string }>(b, '/api/v1/sites/yb-city/enrollment-tokens', {});
  const box = await post<EnrolResponse>(b, '/api/v1/enroll', { token, hardware: { agentVersion: '0.1.0' } });
  // On node b, with a keepalive longer than the stall (the box must not notice it).
  const client: MqttClient = await connectDevice(
    t,
    { ...box, mqtt: { ...box.mqtt, url: b.mqttUrl } },
    { keepalive: 30 },
  );
  let closes = 0;
  client.on('close', () => (closes += 1));
  await waitFor(async () => (await health(a))?.devicesOnline === 1, 15_000, 'the box online, as node a sees it');

  b.proc.child.kill('SIGSTOP');
  t.teardown(() => b.proc.child.kill('SIGCONT'));
  await waitFor(async () => (await health(a))?.devicesOnline === 0, 20_000, 'node b declared dead, its session ended');
  b.proc.child.kill('SIGCONT');

  await waitFor(
    async () => {
      const [ha, hb] = [await health(a), await health(b)];
      return ha?.devicesOnline === 1 && hb?.devicesOnline === 1 && hb.mqttClients === 1;
    },
    20_000,
    'the box online again on both nodes',
  );
  t.equal(closes, 0, 'without reconnecting: its connection to node b never closed');
  await waitFor(
    async () =>
      (await get<{ items: Alert[] }>(a, '/api/v1/alerts?limit=100')).items.some(
        (x) => x.key === 'fleet-node-down:node-b' && x.state === 'resolved',
      ),
    20_000,
    "node b's alert resolved once it beat again",
  );
  client.end(true);
});
