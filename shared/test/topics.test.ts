import t from 'tap';
import { BROKERS_TOPIC, deviceTopic, parseDeviceTopic, canDevicePublish, canDeviceSubscribe } from '../src/index.js';

t.test('device topics round-trip', async (t) => {
  t.same(parseDeviceTopic(deviceTopic('dev-1', 'telemetry')), { deviceId: 'dev-1', channel: 'telemetry' });
  t.equal(parseDeviceTopic('diemcau/v1/devices/dev-1/nope'), null);
  t.equal(parseDeviceTopic('diemcau/v1/devices/+/telemetry'), null);
  t.throws(() => deviceTopic('a/b', 'telemetry'));
});

t.test('a device is confined to its own topics and directions', async (t) => {
  t.ok(canDevicePublish('a', 'diemcau/v1/devices/a/telemetry'));
  t.notOk(canDevicePublish('a', 'diemcau/v1/devices/b/telemetry'), 'another device');
  t.notOk(canDevicePublish('a', 'diemcau/v1/devices/a/commands'), 'only the fleet sends commands');
  t.ok(canDeviceSubscribe('a', 'diemcau/v1/devices/a/commands'));
  t.notOk(canDeviceSubscribe('a', 'diemcau/v1/devices/+/commands'), 'wildcards over devices');
  t.notOk(canDeviceSubscribe('a', 'diemcau/#'));
  t.ok(canDeviceSubscribe('a', BROKERS_TOPIC), "every box hears its fleet's broker list");
  t.notOk(canDevicePublish('a', BROKERS_TOPIC), 'and none may publish one');
});
