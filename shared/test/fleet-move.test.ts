import t from 'tap';
import { checkMove, newFleetKeyPair, newMoveId, signMove, type FleetTrust, type MoveStatement } from '../src/index.js';

// The box's rule for following a move to another fleet, pure: only a
// statement signed by the key it trusts, naming it, unexpired and newer than
// the last move it followed.

const oldFleet = newFleetKeyPair();
const newFleet = newFleetKeyPair();
const attacker = newFleetKeyPair();
const trust: FleetTrust = { fleetId: 'fleet-old', publicKey: oldFleet.publicKey };
const NOW = Date.parse('2026-12-03T08:00:00Z');

const statement = (over: Partial<MoveStatement> = {}): MoveStatement => ({
  v: 1,
  kind: 'fleet-move',
  moveId: newMoveId(),
  deviceId: 'dev-1',
  fromFleetId: 'fleet-old',
  issuedAt: new Date(NOW - 60_000).toISOString(),
  expiresAt: new Date(NOW + 3600_000).toISOString(),
  to: {
    trust: { fleetId: 'fleet-new', publicKey: newFleet.publicKey },
    fleetUrl: 'https://new.example',
    mqttUrls: ['mqtts://new.example:8883'],
  },
  ...over,
});
const box = { deviceId: 'dev-1', trust, last: undefined };
const reason = (r: ReturnType<typeof checkMove>): string => (r.ok ? 'followed' : r.reason);

t.test('a statement signed by the trusted key, for this box, in time, is followed', async (t) => {
  const s = statement();
  const r = checkMove(JSON.stringify(signMove(s, oldFleet.privateKey)), box, NOW);
  t.ok(r.ok);
  if (r.ok) t.same(r.statement, s);
});

t.test('every other statement is refused, with its reason', async (t) => {
  const good = signMove(statement(), oldFleet.privateKey);
  t.equal(reason(checkMove('not json', box, NOW)), 'malformed');
  t.equal(reason(checkMove(JSON.stringify(statement()), box, NOW)), 'malformed', 'unsigned');
  t.equal(reason(checkMove(JSON.stringify({ ...good, signature: 'AAAA' }), box, NOW)), 'bad-signature');
  t.equal(
    reason(checkMove(JSON.stringify(signMove(statement(), attacker.privateKey)), box, NOW)),
    'bad-signature',
    'another key',
  );
  t.equal(
    reason(checkMove(JSON.stringify(signMove(statement(), newFleet.privateKey)), box, NOW)),
    'bad-signature',
    'even the destination fleet cannot sign for the source',
  );
  // The signed text changed after signing (a broker rewriting the destination).
  const tampered = { ...good, payload: good.payload.replace('new.example:8883', 'evil.example:8883') };
  t.equal(reason(checkMove(JSON.stringify(tampered), box, NOW)), 'bad-signature', 'tampered');
  t.equal(
    reason(checkMove(JSON.stringify(signMove(statement({ deviceId: 'dev-2' }), oldFleet.privateKey)), box, NOW)),
    'other-device',
  );
  const expired = statement({ expiresAt: new Date(NOW - 1).toISOString() });
  t.equal(reason(checkMove(JSON.stringify(signMove(expired, oldFleet.privateKey)), box, NOW)), 'expired');
  const future = statement({ issuedAt: new Date(NOW + 3600_000).toISOString() });
  t.equal(reason(checkMove(JSON.stringify(signMove(future, oldFleet.privateKey)), box, NOW)), 'not-yet-valid');
  t.equal(reason(checkMove(JSON.stringify(good), { ...box, trust: undefined }, NOW)), 'no-trust');
});

t.test('a move not newer than the last one followed is a replay; the same one again is nothing to do', async (t) => {
  const first = statement({ issuedAt: new Date(NOW - 120_000).toISOString() });
  const signed = JSON.stringify(signMove(first, oldFleet.privateKey));
  const later = { moveId: 'move-later-0001', issuedAt: new Date(NOW - 60_000).toISOString() };
  t.equal(reason(checkMove(signed, { ...box, last: later }, NOW)), 'replayed');
  const again = checkMove(signed, { ...box, last: { moveId: first.moveId, issuedAt: first.issuedAt } }, NOW);
  t.ok(again.ok && again.already, 'a redelivery of the move followed is recognised');
});
