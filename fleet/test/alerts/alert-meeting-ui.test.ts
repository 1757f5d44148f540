// The dashboard's reading of a raised alert: which meeting to name in the row.
import t from 'tap';
import { alertMeeting } from '../../ui/state/alert-meeting.js';
import type { Alert } from '../../ui/api/types.js';

const base: Alert = {
  id: 1,
  type: 'device-offline',
  key: 'device-offline:d',
  severity: 'warning',
  state: 'open',
  siteId: 's',
  deviceId: 'd',
  message: null,
  details: null,
  openedAt: '2026-11-23T06:00:00.000Z',
  updatedAt: '2026-11-23T06:00:00.000Z',
  resolvedAt: null,
  resolution: null,
};
const ref = {
  id: 'mtg-1',
  title: 'Giao ban',
  startsAt: '2026-11-23T07:00:00.000Z',
  endsAt: '2026-11-23T09:00:00.000Z',
  state: 'scheduled',
};

t.test('a site alert names its meeting; an outage its first; others none', async (t) => {
  t.same(alertMeeting({ ...base, severity: 'critical', details: { meeting: ref } }), {
    title: 'Giao ban',
    startsAt: ref.startsAt,
    live: false,
  });
  t.same(
    alertMeeting({
      ...base,
      type: 'district-outage',
      details: {
        meetings: [
          { ...ref, state: 'live' },
          { ...ref, id: 'mtg-2' },
        ],
      },
    }),
    { title: 'Giao ban', startsAt: ref.startsAt, live: true },
  );
  t.equal(
    alertMeeting({ ...base, details: { lastMeeting: ref } }),
    null,
    'a meeting that is over is not shown as coming',
  );
  t.equal(alertMeeting({ ...base, details: { meeting: { title: 3 } } }), null, 'malformed details are ignored');
  t.equal(alertMeeting(base), null);
});
