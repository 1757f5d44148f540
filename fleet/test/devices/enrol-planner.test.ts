import t from 'tap';
import { planEnrolment, type EnrolFacts } from '../../src/devices/enrol-planner.js';
import { canonicalSerial } from '../../src/devices/serial.js';

// The enrolment rule as a table: who a box becomes, given what the registry holds.

const A = 'site-a';
const B = 'site-b';
const facts = (f: Partial<EnrolFacts>): EnrolFacts => ({
  token: undefined,
  serial: 'SN-1',
  prereg: null,
  live: null,
  ...f,
});

const cases: Array<[string, Partial<EnrolFacts>, string]> = [
  // With a token
  ['token, no serial: a new device', { token: { siteId: A }, serial: null }, `create ${A} token`],
  ['token, unknown serial: a new device', { token: { siteId: A } }, `create ${A} token`],
  [
    'token, serial live elsewhere: refused',
    { token: { siteId: A }, live: { id: 'd1', siteId: B } },
    'refuse serial-other-site',
  ],
  ['token, serial live here: refused', { token: { siteId: A }, live: { id: 'd1', siteId: A } }, 'refuse serial-in-use'],
  [
    'token, serial live here, armed here: re-image',
    { token: { siteId: A }, live: { id: 'd1', siteId: A }, prereg: { siteId: A, armed: true } },
    `reimage ${A} d1 token`,
  ],
  [
    'token, serial live here, arming spent: refused',
    { token: { siteId: A }, live: { id: 'd1', siteId: A }, prereg: { siteId: A, armed: false } },
    'refuse serial-in-use',
  ],
  [
    'token, serial live elsewhere, armed here: refused',
    { token: { siteId: A }, live: { id: 'd1', siteId: B }, prereg: { siteId: A, armed: true } },
    'refuse serial-other-site',
  ],
  [
    'token, serial armed elsewhere: refused',
    { token: { siteId: A }, prereg: { siteId: B, armed: true } },
    'refuse serial-reserved',
  ],
  [
    'token, serial armed here: new device, arming spent',
    { token: { siteId: A }, prereg: { siteId: A, armed: true } },
    `create ${A} token spend`,
  ],
  [
    'token, spent arming elsewhere, no live device: a new device',
    { token: { siteId: A }, prereg: { siteId: B, armed: false } },
    `create ${A} token`,
  ],
  [
    'bad token: refused whatever the serial',
    { token: null, prereg: { siteId: A, armed: true } },
    'refuse token-invalid',
  ],
  // Without a token
  ['nothing at all: refused', { serial: null }, 'refuse no-credential'],
  ['serial not listed: refused', {}, 'refuse serial-not-preregistered'],
  ['serial armed: a new device', { prereg: { siteId: A, armed: true } }, `create ${A} serial spend`],
  ['serial spent: refused', { prereg: { siteId: A, armed: false } }, 'refuse preregistration-used'],
  [
    'serial spent, device live: refused (no lock-out)',
    { prereg: { siteId: A, armed: false }, live: { id: 'd1', siteId: A } },
    'refuse preregistration-used',
  ],
  [
    'serial armed, device live at that site: re-image',
    { prereg: { siteId: A, armed: true }, live: { id: 'd1', siteId: A } },
    `reimage ${A} d1 serial`,
  ],
  [
    'serial armed, device live elsewhere: refused',
    { prereg: { siteId: A, armed: true }, live: { id: 'd1', siteId: B } },
    'refuse preregistration-other-site',
  ],
  // A lost answer: a spent token enrols again only the device it enrolled, until that device first logs in.
  [
    'spent token, its own device never logged in: retry',
    { token: { siteId: A, spent: true, id: 7 }, live: { id: 'd1', siteId: A, neverSeen: true, enrolTokenId: 7 } },
    `reimage ${A} d1 token retry`,
  ],
  [
    'spent token, an unseen device another token enrolled: refused',
    { token: { siteId: A, spent: true, id: 7 }, live: { id: 'd1', siteId: A, neverSeen: true, enrolTokenId: 8 } },
    'refuse token-invalid',
  ],
  [
    'spent token, an unseen device enrolled by serial: refused',
    { token: { siteId: A, spent: true, id: 7 }, live: { id: 'd1', siteId: A, neverSeen: true, enrolTokenId: null } },
    'refuse token-invalid',
  ],
  [
    'spent token, its device has logged in: refused',
    { token: { siteId: A, spent: true, id: 7 }, live: { id: 'd1', siteId: A, neverSeen: false, enrolTokenId: 7 } },
    'refuse token-invalid',
  ],
  [
    'spent token, no device with this serial: refused',
    { token: { siteId: A, spent: true, id: 7 } },
    'refuse token-invalid',
  ],
  [
    'spent token, no serial: refused',
    { token: { siteId: A, spent: true, id: 7 }, serial: null },
    'refuse token-invalid',
  ],
  // The serial is printed on the box: a spent arming never enrols again, whatever the device did since.
  [
    'spent arming, its device never logged in: refused',
    { prereg: { siteId: A, armed: false }, live: { id: 'd1', siteId: A, neverSeen: true } },
    'refuse preregistration-used',
  ],
];

for (const [name, f, want] of cases) {
  t.test(name, async (t) => {
    const p = planEnrolment(facts(f));
    const got =
      p.action === 'refuse'
        ? `refuse ${p.reason}`
        : p.action === 'reimage'
          ? `reimage ${p.siteId} ${p.deviceId} ${p.by}${p.retry ? ' retry' : ''}`
          : `create ${p.siteId} ${p.by}${p.spendPrereg ? ' spend' : ''}`;
    t.equal(got, want);
  });
}

t.test('a refusal never names another site or its device', async (t) => {
  for (const [, f] of cases) {
    const p = planEnrolment(facts(f));
    if (p.action !== 'refuse') continue;
    const foreign = f.live && f.token && f.live.siteId !== f.token.siteId;
    if (foreign || !f.token) t.notMatch(p.message, /site-b|d1/, JSON.stringify(f));
  }
});

t.test('unknown and spent pre-registrations get the same answer', async (t) => {
  const a = planEnrolment(facts({}));
  const b = planEnrolment(facts({ prereg: { siteId: A, armed: false } }));
  t.ok(a.action === 'refuse' && b.action === 'refuse' && a.message === b.message && a.code === b.code);
});

t.test('serials have one spelling; look-alikes and invisibles are refused', async (t) => {
  const ok = (s: string) => {
    const c = canonicalSerial(s);
    return c.ok ? c.serial : `!${c.problem}`;
  };
  t.equal(ok(' sn-42 '), 'SN-42');
  t.equal(ok('ＳＮ－４２'), 'SN-42', 'full width');
  t.equal(ok('PF-123\u00a0\u00a0456'), 'PF-123 456', 'no-break spaces collapse');
  t.equal(ok('\u2160'), 'I', 'a compatibility form (Roman numeral one) is its letter');
  for (const bad of ['SN\u200b42', 'SN\u202e42', 'СН-42', 'SN\t\u000742', 'é', '   ', '\u3392'.repeat(43)]) {
    t.match(ok(bad), /^!/, JSON.stringify(bad));
  }
  t.equal(ok('X'.repeat(128)), 'X'.repeat(128));
  t.match(ok('X'.repeat(129)), /^!serial is longer/);
});
