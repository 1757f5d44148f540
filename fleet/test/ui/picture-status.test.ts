// The chair's live picture in words (ui/state/picture-status.ts): what the
// console says from the framed edge page's reports, as pure rules.
import t from 'tap';
import { FROZEN_MS, SILENT_MS, pictureStatus, reportOf, type Report } from '../../ui/state/picture-status.js';

const report = (over: Partial<Report> = {}): Report => ({
  siteId: 'xa-a',
  status: 'receiving',
  frames: 40,
  reason: null,
  ...over,
});
const fresh = { sinceReport: 500, sinceFrame: 500, sinceSite: 10_000, sinceOpen: 20_000 };

t.test('a moving picture of the called room plays; a still one is a room that sends nothing', async (t) => {
  t.equal(pictureStatus('xa-a', report(), fresh), 'playing');
  t.equal(pictureStatus('xa-a', report(), { ...fresh, sinceFrame: FROZEN_MS + 1 }), 'not-sending');
  t.equal(
    pictureStatus('xa-a', report({ frames: 0 }), { ...fresh, sinceFrame: 99_999, sinceSite: 1000 }),
    'connecting',
    'a picture just asked for is given a moment',
  );
  t.equal(pictureStatus('xa-a', report({ status: 'not-sending', frames: 0 }), fresh), 'not-sending');
});

t.test('the page still on the last room while the plan reaches the edge: switching', async (t) => {
  t.equal(pictureStatus('xa-b', report(), fresh), 'switching');
  t.equal(pictureStatus('xa-b', report({ siteId: null, status: 'no-roll-call' }), fresh), 'switching');
});

t.test('silence from the page, or only errors, is an edge that cannot be reached', async (t) => {
  t.equal(pictureStatus('xa-a', null, { ...fresh, sinceOpen: 1000 }), 'connecting');
  t.equal(pictureStatus('xa-a', null, { ...fresh, sinceOpen: SILENT_MS + 1 }), 'unreachable');
  t.equal(pictureStatus('xa-a', report(), { ...fresh, sinceReport: SILENT_MS + 1 }), 'unreachable');
  t.equal(pictureStatus('xa-a', report({ status: 'error' }), fresh), 'connecting');
  t.equal(pictureStatus('xa-a', report({ status: 'refused', reason: 'join-link-expired' }), fresh), 'refused');
});

t.test('only the page this console framed speaks, in its own words', async (t) => {
  t.same(reportOf({ diemcau: 'roll-call-picture', siteId: 'xa-a', status: 'receiving', frames: 3, reason: null }), {
    siteId: 'xa-a',
    status: 'receiving',
    frames: 3,
    reason: null,
  });
  for (const junk of [
    null,
    'x',
    7,
    {},
    { diemcau: 'other', status: 'receiving' },
    { diemcau: 'roll-call-picture', status: 'hacked' },
  ])
    t.equal(reportOf(junk), null, `${JSON.stringify(junk)} is no report`);
  t.equal(
    reportOf({ diemcau: 'roll-call-picture', status: 'receiving', frames: Infinity })?.frames,
    0,
    'odd counts read as none',
  );
});
