// Which broker lists a box follows after enrolment, and how it keeps one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { brokerListCodec } from '@diemcau/shared';
import { BrokerListKeeper, planBrokerList } from '../../src/agent/broker-list.js';
import { loadIdentity, saveIdentity, type Identity } from '../../src/agent/identity.js';

const A = 'mqtts://fleet-a.example:8883';
const B = 'mqtts://fleet-b.example:8883';

t.test('planBrokerList', async (t) => {
  t.same(planBrokerList(A, [A], [A, B]), { action: 'adopt', urls: [A, B] }, 'a node added');
  t.same(planBrokerList(A, [A, B], [A, B]), { action: 'keep' }, 'nothing new');
  t.same(planBrokerList(A, [A, B], [B]), { action: 'adopt', urls: [B] }, 'a node removed, even the first');
  t.same(planBrokerList(A, [A], [A, A, B]), { action: 'adopt', urls: [A, B] }, 'duplicates once');
  t.same(
    planBrokerList(A, [A], [A, 'mqtt://fleet-b.example:1883']),
    { action: 'refuse', reason: 'downgrade' },
    'a box that enrolled over TLS takes no plain broker',
  );
  t.same(planBrokerList(A, [A], ['wss://fleet-b.example/mqtt']), {
    action: 'adopt',
    urls: ['wss://fleet-b.example/mqtt'],
  });
  t.same(planBrokerList(A, [A], ['mqtts://user:pw@fleet-b.example:8883']), {
    action: 'refuse',
    reason: 'credentials-in-url',
  });
  t.same(planBrokerList(A, [A], ['http://fleet-b.example']), { action: 'refuse', reason: 'bad-url' });
  t.same(planBrokerList(A, [A], ['mqtts://']), { action: 'refuse', reason: 'bad-url' });
  t.same(
    planBrokerList('mqtt://10.0.0.1:1883', ['mqtt://10.0.0.1:1883'], ['mqtt://10.0.0.2:1883']),
    { action: 'adopt', urls: ['mqtt://10.0.0.2:1883'] },
    'a plain fleet may list plain brokers',
  );
  t.same(planBrokerList('garbage', [], ['mqtt://10.0.0.2:1883']), { action: 'refuse', reason: 'downgrade' });
});

t.test('BrokerListKeeper stores the list in the identity file before using it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-brokers-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'identity.json');
  const identity: Identity = {
    v: 1,
    fleetUrl: 'https://fleet-a.example',
    enrolledAt: new Date().toISOString(),
    deviceId: 'box-1',
    siteId: 'yb-city',
    siteName: 'Yên Bái',
    mqtt: { url: A, username: 'box-1', password: 'secret-password-1' },
  };
  await saveIdentity(file, identity);
  const applied: (readonly string[])[] = [];
  const warnings: string[] = [];
  const keeper = new BrokerListKeeper(
    identity,
    async (next) => {
      await saveIdentity(file, next);
      t.same((await loadIdentity(file))?.mqtt.urls, next.mqtt.urls, 'on disk before the session hears of it');
    },
    (urls) => applied.push(urls),
    { info: () => undefined, warn: (_o, msg) => warnings.push(msg ?? '') },
  );
  const offer = (urls: string[]) =>
    keeper.offer(Buffer.from(brokerListCodec.encode({ v: 1, urls, at: new Date().toISOString() })));

  await offer([A, B]);
  t.same(applied, [[A, B]]);
  t.same((await loadIdentity(file))?.mqtt.urls, [A, B]);
  t.equal((await loadIdentity(file))?.mqtt.password, 'secret-password-1', 'credentials untouched');

  await offer([A, B]);
  t.equal(applied.length, 1, 'the same list again changes nothing');
  await offer([A, 'mqtt://fleet-c.example:1883']);
  await keeper.offer(Buffer.from('{"v":1,"urls":"nope"}'));
  await keeper.offer(Buffer.alloc(0));
  t.equal(applied.length, 1, 'a downgrade, garbage and a cleared list are not followed');
  t.equal(keeper.refused, 2);
  t.equal(warnings.length, 2);
  t.same((await loadIdentity(file))?.mqtt.urls, [A, B], 'the stored list stays');
});
