// A login verified on one node is remembered by every node (through Redis):
// a box that moves to another node is not checked with scrypt again there,
// while a wrong password and a revoked box are still refused on every node.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Fleet } from '../../src/app.js';
import { ADMIN_TOKEN } from '../helpers/fleet.js';
import { loginAttempt } from '../helpers/enrol.js';
import { startRedis } from '../helpers/redis.js';
import { at, enrol, startNode } from '../helpers/in-process-nodes.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function checks(fleet: Fleet): Promise<{ scrypt: number; remembered: number }> {
  const res = await fleet.http.inject({ method: 'GET', url: '/metrics', headers: auth });
  const value = (how: string): number =>
    Number(new RegExp(`^diemcau_mqtt_password_checks_total\\{how="${how}"\\} (\\d+)`, 'm').exec(res.body)?.[1] ?? 0);
  return { scrypt: value('scrypt'), remembered: value('remembered') };
}

t.test('a login verified on one node is not checked with scrypt again on another', async (t) => {
  const redis = await startRedis(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-cluster-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const a = await startNode(t, redis.url, dataDir, 'node-a');
  const b = await startNode(t, redis.url, dataDir, 'node-b');

  const box = await enrol(a, 'yb-city');

  t.equal(await loginAttempt(at(a, box)), 'connected', 'the box logs in on node A');
  t.same(await checks(a), { scrypt: 1, remembered: 0 }, 'node A checked it with scrypt');
  t.equal(await loginAttempt(at(b, box)), 'connected', 'it moves to node B');
  t.same(await checks(b), { scrypt: 0, remembered: 1 }, 'node B took what node A verified');

  const wrong = `${box.mqtt.password.slice(0, -2)}xx`;
  t.match(await loginAttempt(at(b, box, wrong)), /^refused/, 'a wrong password is refused on node B');
  t.equal((await checks(b)).scrypt, 1, 'and was checked with scrypt');

  const revoke = await a.http.inject({ method: 'DELETE', url: `/api/v1/devices/${box.deviceId}`, headers: auth });
  t.equal(revoke.statusCode, 204, 'the box is revoked');
  t.match(await loginAttempt(at(b, box)), /^refused/, 'its right password is refused on node B');
  t.match(await loginAttempt(at(a, box)), /^refused/, 'and on node A');
});
