// The meeting escalation planner: alerts + meetings + now → severity changes.
// No network, no clock.
import t from 'tap';
import {
  desiredAlert,
  planEscalation,
  type AlertFact,
  type EscalationStep,
  type MeetingFact,
} from '../../src/alerts/escalation-planner.js';

const MIN = 60_000;
const NOW = Date.parse('2026-11-23T06:30:00Z');
const cfg = { leadMs: 60 * MIN };

const meeting = (o: Partial<MeetingFact> = {}): MeetingFact => ({
  id: 'mtg-1',
  title: 'Giao ban tỉnh',
  siteIds: ['site-a', 'site-b'],
  startsAt: NOW + 30 * MIN,
  endsAt: NOW + 150 * MIN,
  endedAt: null,
  ...o,
});

const alert = (o: Partial<AlertFact> = {}): AlertFact => ({
  key: 'device-offline:dev-a',
  type: 'device-offline',
  severity: 'warning',
  siteIds: ['site-a'],
  details: { since: '2026-11-23T06:00:00.000Z' },
  ...o,
});

/** The alert as it reads after a step was carried out. */
const after = (a: AlertFact, s: EscalationStep): AlertFact => ({ ...a, severity: s.severity, details: s.details });

t.test('a warning whose site meets within the lead time is raised, naming the meeting', async (t) => {
  const steps = planEscalation([alert()], [meeting()], NOW, cfg);
  t.equal(steps.length, 1);
  t.same(steps[0], {
    action: 'raise',
    key: 'device-offline:dev-a',
    severity: 'critical',
    details: {
      since: '2026-11-23T06:00:00.000Z',
      meeting: {
        id: 'mtg-1',
        title: 'Giao ban tỉnh',
        startsAt: '2026-11-23T07:00:00.000Z',
        endsAt: '2026-11-23T09:00:00.000Z',
        state: 'scheduled',
      },
      escalatedFrom: 'warning',
    },
  });
  t.same(planEscalation([after(alert(), steps[0]!)], [meeting()], NOW, cfg), [], 'carried out, nothing more to do');
});

t.test('a meeting further than the lead time, or without the site, changes nothing', async (t) => {
  t.same(planEscalation([alert()], [meeting({ startsAt: NOW + 61 * MIN })], NOW, cfg), [], 'starts in 61 min');
  t.same(planEscalation([alert()], [meeting({ siteIds: ['site-b', 'site-c'] })], NOW, cfg), [], 'other sites');
  t.same(planEscalation([alert()], [], NOW, cfg), [], 'no meetings');
  t.same(
    planEscalation([alert()], [meeting({ startsAt: NOW + 30 * MIN })], NOW, { leadMs: 0 }),
    [],
    'lead 0: only live meetings count',
  );
});

t.test('a live meeting raises too; the live one is named before a later one', async (t) => {
  const live = meeting({ id: 'mtg-live', title: 'Đang họp', startsAt: NOW - 10 * MIN, endsAt: NOW + 20 * MIN });
  const next = meeting({ id: 'mtg-next', startsAt: NOW + 25 * MIN });
  const [step] = planEscalation([alert()], [next, live], NOW, cfg);
  t.equal(step?.severity, 'critical');
  t.match(step?.details.meeting, { id: 'mtg-live', state: 'live' });
});

t.test('when the meeting goes live, the raised alert says so (same severity)', async (t) => {
  const m = meeting();
  const raised = after(alert(), planEscalation([alert()], [m], NOW, cfg)[0]!);
  const steps = planEscalation([raised], [m], m.startsAt, cfg);
  t.equal(steps.length, 1);
  t.equal(steps[0]!.action, 'refresh');
  t.equal(steps[0]!.severity, 'critical');
  t.match(steps[0]!.details.meeting, { id: 'mtg-1', state: 'live' });
  t.equal(steps[0]!.details.escalatedFrom, 'warning', 'still remembers where it came from');
});

t.test('when the meeting ends, the alert goes back to warning and keeps the meeting it missed', async (t) => {
  const m = meeting();
  const raised = after(alert(), planEscalation([alert()], [m], NOW, cfg)[0]!);
  for (const [why, meetings, at] of [
    ['ended by hand', [{ ...m, endedAt: m.startsAt + 40 * MIN }], m.startsAt + 41 * MIN],
    ['its time is over', [m], m.endsAt],
    ['gone from the list (the meetings area no longer returns it)', [], m.startsAt + 5 * MIN],
  ] as const) {
    const steps = planEscalation([raised], meetings, at, cfg);
    t.equal(steps.length, 1, why);
    t.equal(steps[0]!.action, 'lower', why);
    t.equal(steps[0]!.severity, 'warning', why);
    t.same(steps[0]!.details, { since: '2026-11-23T06:00:00.000Z', lastMeeting: raised.details!.meeting }, why);
    t.same(planEscalation([after(raised, steps[0]!)], meetings, at, cfg), [], `${why}: stable afterwards`);
  }
});

t.test('an alert that was critical already gets the meeting but is never lowered below critical', async (t) => {
  const crit = alert({
    key: 'camera-fault:dev-a',
    type: 'camera-fault',
    severity: 'critical',
    details: { peripheral: 'camera' },
  });
  const [step] = planEscalation([crit], [meeting()], NOW, cfg);
  t.equal(step?.action, 'refresh');
  t.equal(step?.details.escalatedFrom, undefined);
  const [end] = planEscalation([after(crit, step!)], [], NOW + 200 * MIN, cfg);
  t.equal(end?.action, 'refresh');
  t.equal(end?.severity, 'critical');
  t.same(Object.keys(end!.details).sort(), ['lastMeeting', 'peripheral']);
});

t.test(
  'camera, microphone, TV and flapping alerts are raised; disk, heat and help requests are not touched',
  async (t) => {
    const types = [
      'flapping',
      'camera-missing',
      'camera-fault',
      'microphone-missing',
      'microphone-silent',
      'microphone-fault',
      'display-disconnected',
    ];
    const raised = planEscalation(
      types.map((type) => alert({ type, key: `${type}:dev-a` })),
      [meeting()],
      NOW,
      cfg,
    );
    t.same(
      raised.map((s) => s.key),
      types.map((type) => `${type}:dev-a`),
    );
    t.ok(raised.every((s) => s.severity === 'critical'));
    const others = ['disk-nearly-full', 'overheating', 'help-requested', 'ota-failed'].map((type) =>
      alert({ type, key: `${type}:dev-a` }),
    );
    t.same(planEscalation(others, [meeting()], NOW, cfg), []);
  },
);

t.test('an alert without a known site is left alone', async (t) => {
  t.same(planEscalation([alert({ siteIds: [] })], [meeting()], NOW, cfg), []);
});

t.test('a district outage stays critical and lists the meetings of its offline sites', async (t) => {
  const incident = alert({
    key: 'district-outage:dist',
    type: 'district-outage',
    severity: 'critical',
    siteIds: ['site-b', 'site-x'],
    details: { devices: ['d1', 'd2'], offline: ['d1', 'd2'], offlineCount: 2 },
  });
  const other = meeting({
    id: 'mtg-0',
    title: 'Họp huyện',
    siteIds: ['site-x'],
    startsAt: NOW - 5 * MIN,
    endsAt: NOW + 55 * MIN,
  });
  const unrelated = meeting({ id: 'mtg-9', siteIds: ['site-z'] });
  const [step] = planEscalation([incident], [meeting(), other, unrelated], NOW, cfg);
  t.equal(step?.action, 'refresh');
  t.equal(step?.severity, 'critical');
  t.same(
    (step?.details.meetings as { id: string }[]).map((m) => m.id),
    ['mtg-0', 'mtg-1'],
    'live first, then the soonest; unrelated left out',
  );
  t.equal(step?.details.offlineCount, 2, 'its own details kept');
  const updated = after(incident, step!);
  t.same(planEscalation([updated], [meeting(), other], NOW, cfg), [], 'stable');
  const [done] = planEscalation([updated], [], NOW + 300 * MIN, cfg);
  t.same(done?.details, incident.details, 'the list goes when the meetings are over');
  t.same(planEscalation([incident], [unrelated], NOW, cfg), [], 'no meeting of its sites: nothing to add');
});

t.test('an alert being opened near a meeting opens critical', async (t) => {
  const want = desiredAlert(alert({ details: { since: 'x' } }), [meeting({ startsAt: NOW - MIN })], NOW, cfg);
  t.equal(want.severity, 'critical');
  t.match(want.details, { since: 'x', escalatedFrom: 'warning', meeting: { id: 'mtg-1', state: 'live' } });
  t.same(
    desiredAlert(alert(), [], NOW, cfg),
    { severity: 'warning', details: alert().details },
    'no meeting: as raised',
  );
});
