// What the join-link panel decides before it asks the fleet (ui/state/join-links.ts):
// who gets it, which sites it offers, the validity it sends, and the sentence a
// refusal becomes. The fleet's own refusals, as it sends them, are checked in
// Chromium against a running fleet (join-links.test.ts).
import t from 'tap';
import { ERRORS } from '@diemcau/shared';
import { MAX_JOIN_LINK_MIN } from '../../src/meetings/service.js';
import { makeI18n } from '../../ui/i18n/core.js';
import {
  clampTtl,
  joinLinkErrorKey,
  linkOf,
  MAX_TTL_MIN,
  mayIssueLinks,
  offeredSites,
} from '../../ui/state/join-links.js';
import { ROLE_NAMES, mayAct } from '../../src/access.js';

t.test('the panel is for the roles the fleet lets issue links, and no other', async (t) => {
  for (const role of ROLE_NAMES) t.equal(mayIssueLinks({ role }), mayAct({ role, area: null }), role);
  t.notOk(mayIssueLinks(null), 'not before the session is known');
  t.notOk(mayIssueLinks({ role: 'auditor' }), 'nor for a role it does not know');
});

t.test('the sites offered: the meeting’s, chair first, those in the operator’s list', async (t) => {
  const meeting = { chairSiteId: 'd1', siteIds: ['d1', 'c1', 'c2', 'c3'] };
  t.same(
    offeredSites(meeting, () => true),
    { offered: ['d1', 'c1', 'c2', 'c3'], outside: 0 },
  );
  t.same(
    offeredSites(meeting, (id) => id === 'c2'),
    { offered: ['c2'], outside: 3 },
  );
  t.same(
    offeredSites(meeting, () => false),
    { offered: [], outside: 4 },
  );
});

t.test('the validity sent is one the API accepts', async (t) => {
  t.equal(MAX_TTL_MIN, MAX_JOIN_LINK_MIN, "the page's cap is the API's");
  t.equal(clampTtl(30), 30);
  t.equal(clampTtl(0), 1);
  t.equal(clampTtl(-5), 1);
  t.equal(clampTtl(99999), MAX_JOIN_LINK_MIN);
  t.equal(clampTtl(12.4), 12);
  t.equal(clampTtl(Number.NaN), 120, 'an empty field: the default');
});

t.test('refusals in words, in both languages, never the server’s text', async (t) => {
  const vi = makeI18n('vi', () => {});
  const en = makeI18n('en', () => {});
  const cases: [unknown, string][] = [
    [{ status: 403, code: 'FLEET_ERR_FORBIDDEN', details: { siteIds: ['c1'] } }, 'join.err.scope'],
    [{ status: 403, code: 'FLEET_ERR_FORBIDDEN' }, 'join.err.role'],
    [{ status: 409, code: 'FLEET_ERR_MEETING_ENDED' }, 'join.err.ended'],
    [{ status: 404, code: 'FLEET_ERR_NOT_FOUND' }, 'join.err.notFound'],
    [{ status: 400, code: 'FLEET_ERR_BAD_REQUEST' }, 'join.err.siteNotInMeeting'],
    [
      { status: 409, code: 'FLEET_ERR_CONFLICT', details: { reason: 'too-many-revoked-links' } },
      'join.err.tooManyRevoked',
    ],
    [{ status: 409, code: 'FLEET_ERR_CONFLICT', details: { reason: 'too-many-join-links' } }, 'join.err.tooMany'],
  ];
  for (const [err, key] of cases) {
    t.equal(joinLinkErrorKey(err), key, key);
    const k = joinLinkErrorKey(err)!;
    t.not(vi.t(k), k, `${k} has Vietnamese words`);
    t.notMatch(en.t(k), /[\u00C0-\u1EF9]/u, `${k} in English has no Vietnamese`);
    const code = (err as { code: keyof typeof ERRORS }).code;
    t.not(en.t(k), ERRORS[code].message, `${k} is not the server's text`);
  }
  t.equal(joinLinkErrorKey({ status: 409, code: 'FLEET_ERR_CONFLICT' }), null, 'another conflict: the generic words');
  t.equal(joinLinkErrorKey(new TypeError('Failed to fetch')), null, 'no answer at all: the generic words');
});

t.test('the link inside a join page address', async (t) => {
  t.equal(linkOf('https://10.0.0.5:7443/media/v1/join?link=eyJ2.sig_-x'), 'eyJ2.sig_-x');
  t.equal(linkOf('eyJ2.sig'), 'eyJ2.sig', 'a bare link as it is');
});
