// The chair's roll-call picture as pure decisions (monitor.ts): which stream a
// monitor may take, and which pictures it must give up when the roll call
// moves on. The real edge and Chromium: roll-call-monitor.test.ts.
import t from 'tap';
import { monitorRefusal, monitorStale } from '../../src/media/monitor.js';

const video = (id: string, siteId: string, layer: 'full' | 'small' = 'small') => ({
  id,
  kind: 'video' as const,
  siteId,
  layer,
});

t.test("a monitor takes the called site's picture, in the layer a grid gets, and nothing else", async (t) => {
  t.equal(monitorRefusal({ called: 'xa-a', stream: video('s1', 'xa-a'), pick: 's1' }), null, 'the pick: taken');
  t.equal(
    monitorRefusal({ called: 'xa-a', stream: video('f1', 'xa-a', 'full'), pick: 'f1' }),
    null,
    'the full picture when the edge has no small one (the pick)',
  );
  const cases: Array<[string, Parameters<typeof monitorRefusal>[0], string]> = [
    ['no roll call', { called: null, stream: video('s1', 'xa-a'), pick: undefined }, 'monitor-no-roll-call'],
    [
      'a microphone',
      { called: 'xa-a', stream: { id: 'a1', kind: 'audio', siteId: 'xa-a', layer: 'full' }, pick: 's1' },
      'monitor-not-picture',
    ],
    ['another site', { called: 'xa-a', stream: video('s2', 'xa-b'), pick: 's1' }, 'monitor-not-called'],
    [
      'the full layer beside a small one',
      { called: 'xa-a', stream: video('f1', 'xa-a', 'full'), pick: 's1' },
      'monitor-not-thumbnail',
    ],
    [
      'a picture the edge does not pick (paused)',
      { called: 'xa-a', stream: video('s1', 'xa-a'), pick: undefined },
      'monitor-not-thumbnail',
    ],
  ];
  for (const [what, ask, reason] of cases) t.equal(monitorRefusal(ask)?.reason, reason, `${what}: ${reason}`);
});

t.test('the roll call moves on: pictures of any other site are given up', async (t) => {
  const outlets = [
    { id: 'c1', siteId: 'xa-a' },
    { id: 'c2', siteId: 'xa-b' },
    { id: 'c3', siteId: undefined },
  ];
  t.same(monitorStale('xa-b', outlets), ['c1', 'c3'], 'the last room and a stream already gone');
  t.same(monitorStale(null, outlets), ['c1', 'c2', 'c3'], 'the roll call ended: all');
  t.same(monitorStale('xa-a', []), [], 'nothing held, nothing to give up');
});
