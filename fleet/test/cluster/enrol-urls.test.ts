// A fleet of several nodes tells each box every broker, the one it came by first.
import t from 'tap';
import { startTestFleet } from '../helpers/fleet.js';

t.test('enrolment hands out the broker list of a cluster', async (t) => {
  const { enrol } = await startTestFleet(t, {
    publicMqttUrl: 'mqtt://fleet-b.example:1883',
    publicMqttUrls: 'mqtt://fleet-a.example:1883,mqtt://fleet-b.example:1883',
  });
  const box = await enrol('yb-city');
  t.equal(box.mqtt.url, 'mqtt://fleet-b.example:1883');
  t.same(box.mqtt.urls, ['mqtt://fleet-b.example:1883', 'mqtt://fleet-a.example:1883']);
});

t.test('a single node hands out no list', async (t) => {
  const { enrol } = await startTestFleet(t);
  const box = await enrol('yb-city');
  t.equal(box.mqtt.urls, undefined);
});
