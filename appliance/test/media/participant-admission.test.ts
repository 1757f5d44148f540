// A browser participant's streams (`<site>.web<n>`) cross the cascade like its
// site's: an upstream admits them from the downstream edge that has the site
// below it, and from nowhere else; an upstream naming one of our own
// participants is refused like one naming our own room.
import t from 'tap';
import type { MediaMeeting } from '@diemcau/shared';
import { admitSite } from '../../src/media/link/admission.js';

const meeting = (over: Partial<MediaMeeting> = {}): MediaMeeting => ({
  meetingId: 'm',
  title: 'm',
  role: 'relay',
  upstream: { edgeId: 'core', signalUrl: 'https://10.0.0.1:7443', linkToken: 'x'.repeat(20) },
  acceptToken: 'y'.repeat(20),
  downstream: [
    { edgeId: 'box-a', addresses: ['10.0.0.2'], siteIds: ['xa-a'] },
    { edgeId: 'box-b', addresses: ['10.0.0.3'], siteIds: ['xa-b'] },
  ],
  localSiteId: 'huyen',
  chairSiteId: 'tinh',
  floorSiteId: null,
  rollCallSiteId: null,
  mutedAll: false,
  state: 'live',
  ...over,
});

t.test('participants are admitted where their site is', async (t) => {
  const m = meeting();
  const down = (edgeId: string, siteId: string) => admitSite(m, 'box-h', { edgeId, direction: 'down' }, siteId);
  t.ok(down('box-a', 'xa-a.web1').ok, "a browser at xa-a, from xa-a's box");
  t.ok(down('box-a', 'xa-a.web12').ok);
  t.match(down('box-b', 'xa-a.web1'), { ok: false, reason: 'link-site-not-below' }, "not from another commune's box");
  t.match(down('box-a', 'tinh.web1'), { ok: false, reason: 'link-site-not-below' }, 'nor posing as the chair');
  t.match(down('box-a', 'xa-a.webx'), { ok: false, reason: 'link-site-not-below' }, 'only the participant form');
  t.match(down('box-a', 'xa-a.web1.web2'), { ok: false }, 'one level only');
  const up = (siteId: string) => admitSite(m, 'box-h', { edgeId: 'core', direction: 'up' }, siteId);
  t.ok(up('tinh.web3').ok, "the chair's browser, from above");
  t.match(up('huyen.web1'), { ok: false, reason: 'link-site-own-subtree' }, 'our own participant from above: refused');
  t.match(up('xa-b.web1'), { ok: false, reason: 'link-site-own-subtree' }, 'one of ours below: refused from above');
});
