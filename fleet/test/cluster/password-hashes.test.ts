// Device passwords are stored as a salted SHA-256, checked the same on every
// node of a cluster. An earlier release's scrypt hash still logs its box in,
// and is stored in the configured form after that login; a node set to
// scrypt (before going back to such a release) stores them back. A wrong
// password and a revoked box are refused on every node.
import { mkdtempSync, rmSync } from 'node:fs';
import { scryptSync, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Fleet } from '../../src/app.js';
import { ADMIN_TOKEN } from '../helpers/fleet.js';
import { loginAttempt } from '../helpers/enrol.js';
import { startRedis } from '../helpers/redis.js';
import { at, enrol, startNode } from '../helpers/in-process-nodes.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function counters(fleet: Fleet): Promise<{ sha256: number; scrypt: number; upgraded: number }> {
  const res = await fleet.http.inject({ method: 'GET', url: '/metrics', headers: auth });
  const value = (line: string): number =>
    Number(new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(res.body)?.[1] ?? 0);
  return {
    sha256: value('diemcau_mqtt_password_checks_total{how="sha256"}'),
    scrypt: value('diemcau_mqtt_password_checks_total{how="scrypt"}'),
    upgraded: value('diemcau_mqtt_password_hashes_replaced_total{form="sha256"}'),
  };
}

/** The form releases before 2026-12 stored: `scrypt$N$r$p$salt$hash`. */
function legacyHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 128, r: 8, p: 1 });
  return `scrypt$128$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
}

const storedHash = async (fleet: Fleet, id: string): Promise<string | undefined> =>
  (await fleet.db.get<{ password_hash: string }>('SELECT password_hash FROM devices WHERE id = ?', [id]))
    ?.password_hash;

t.test('every node checks the stored hash; an old scrypt hash is replaced after its login', async (t) => {
  const redis = await startRedis(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-cluster-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const a = await startNode(t, redis.url, dataDir, 'node-a');
  const b = await startNode(t, redis.url, dataDir, 'node-b');

  const box = await enrol(a, 'yb-city');
  const fresh = await storedHash(a, box.deviceId);
  t.match(fresh, /^sha256\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/, 'an enrolment stores a salted SHA-256');
  t.notOk(fresh?.includes(box.mqtt.password), 'and not the password');

  t.equal(await loginAttempt(at(a, box)), 'connected', 'the box logs in on node A');
  t.equal(await loginAttempt(at(b, box)), 'connected', 'and on node B');
  t.same(await counters(b), { sha256: 1, scrypt: 0, upgraded: 0 }, 'node B checked the SHA-256');

  const wrong = `${box.mqtt.password.slice(0, -2)}xx`;
  t.match(await loginAttempt(at(b, box, wrong)), /^refused/, 'a wrong password is refused on node B');
  t.match(await loginAttempt(at(a, box, wrong)), /^refused/, 'and on node A');

  // The box as an earlier release enrolled it.
  const old = legacyHash(box.mqtt.password);
  await a.db.run('UPDATE devices SET password_hash = ? WHERE id = ?', [old, box.deviceId]);
  t.match(await loginAttempt(at(b, box, wrong)), /^refused/, 'against the old hash, a wrong password is refused');
  t.equal(await storedHash(a, box.deviceId), old, 'and the old hash is kept');
  t.equal(await loginAttempt(at(b, box)), 'connected', 'the right one logs in on node B');
  // The replacement is written beside the login, not before its CONNACK.
  let upgraded = await storedHash(a, box.deviceId);
  for (let i = 0; i < 50 && upgraded === old; i++) {
    await new Promise((r) => setTimeout(r, 100));
    upgraded = await storedHash(a, box.deviceId);
  }
  const before = await counters(b);
  t.equal(before.upgraded, 1, 'node B stored it in the current form');
  t.match(upgraded, /^sha256\$/, 'the registry holds a SHA-256 now');
  t.equal(await loginAttempt(at(a, box)), 'connected', 'which logs the box in on node A');
  t.equal(await loginAttempt(at(b, box)), 'connected', 'and on node B again');
  const after = await counters(b);
  t.same(
    { scrypt: after.scrypt - before.scrypt, upgraded: after.upgraded - before.upgraded },
    { scrypt: 0, upgraded: 0 },
    'with no scrypt check and nothing to replace',
  );

  t.notOk(
    await a.repos.devices.replacePasswordHash(box.deviceId, old, legacyHash(box.mqtt.password)),
    'a replacement of a hash that changed meanwhile (a re-enrolment) is not stored',
  );
  t.equal(await storedHash(a, box.deviceId), upgraded, 'the current hash stays');

  // Going back: a node set to the earlier form stores the box's hash in it at its next login.
  const c = await startNode(t, redis.url, dataDir, 'node-c', { devicePasswordHash: 'scrypt' });
  t.equal(await loginAttempt(at(c, box)), 'connected', 'the box logs in on a node set to scrypt');
  let back = await storedHash(a, box.deviceId);
  for (let i = 0; i < 50 && !back?.startsWith('scrypt$'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    back = await storedHash(a, box.deviceId);
  }
  t.match(back, /^scrypt\$128\$8\$1\$/, 'which stores it as scrypt, the form earlier releases check');
  t.equal(await loginAttempt(at(b, box)), 'connected', 'a node set to SHA-256 still logs it in');
  const other = await enrol(c, 'yb-city');
  t.match(await storedHash(c, other.deviceId), /^scrypt\$/, 'and a box enrolled there is stored as scrypt');
  t.equal(await loginAttempt(at(a, other)), 'connected', 'and logs in on any node');

  const revoke = await a.http.inject({ method: 'DELETE', url: `/api/v1/devices/${box.deviceId}`, headers: auth });
  t.equal(revoke.statusCode, 204, 'the box is revoked');
  t.match(await loginAttempt(at(b, box)), /^refused/, 'its right password is refused on node B');
  t.match(await loginAttempt(at(a, box)), /^refused/, 'and on node A');
});
