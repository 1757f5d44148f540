// The leader's verdict on the nodes' beats (cluster/nodes.ts judgeBeats), as
// plain data: which node is dead, which is gone after a graceful stop, and
// how long a node that is still starting may be silent.
import t from 'tap';
import { judgeBeats, type BeatsSeen } from '../../src/cluster/nodes.js';

const limits = { timeoutMs: 5000, startTimeoutMs: 60_000 };

t.test('a node silent for the timeout is dead; one that beats is not', (t) => {
  const seen: BeatsSeen = new Map();
  t.same(judgeBeats(seen, { me: '1', a: '1', b: '1' }, 0, 'me', limits), []);
  t.same(judgeBeats(seen, { me: '9', a: '1', b: '7' }, 4999, 'me', limits), []);
  t.same(judgeBeats(seen, { me: '10', a: '1', b: '8' }, 5000, 'me', limits), [
    { nodeId: 'a', graceful: false, silentMs: 5000 },
  ]);
  t.same([...seen.keys()].sort(), ['b', 'me'], 'the dead node is forgotten');
  t.same(judgeBeats(seen, { me: '10' }, 20_000, 'me', limits), [], 'the leader never judges itself');
  t.end();
});

t.test('a node that said it was leaving is gone, not dead, whenever it stops beating', (t) => {
  const seen: BeatsSeen = new Map();
  judgeBeats(seen, { me: '1', a: '41' }, 0, 'me', limits);
  judgeBeats(seen, { me: '2', a: 'left:42' }, 1000, 'me', limits);
  judgeBeats(seen, { me: '3', a: 'left:43' }, 2000, 'me', limits);
  t.same(judgeBeats(seen, { me: '4', a: 'left:43' }, 6999, 'me', limits), []);
  t.same(judgeBeats(seen, { me: '5', a: 'left:43' }, 7000, 'me', limits), [
    { nodeId: 'a', graceful: true, silentMs: 5000 },
  ]);
  t.end();
});

t.test('a starting node has the start timeout, then the ordinary one once it serves', (t) => {
  const seen: BeatsSeen = new Map();
  judgeBeats(seen, { me: '1', a: 'starting:1' }, 0, 'me', limits);
  t.same(judgeBeats(seen, { me: '2', a: 'starting:1' }, 59_999, 'me', limits), [], 'building itself for a minute');
  judgeBeats(seen, { me: '3', a: '2' }, 60_000, 'me', limits);
  t.same(judgeBeats(seen, { me: '4', a: '2' }, 65_000, 'me', limits), [
    { nodeId: 'a', graceful: false, silentMs: 5000 },
  ]);
  const stuck: BeatsSeen = new Map();
  judgeBeats(stuck, { me: '1', b: 'starting:1' }, 0, 'me', limits);
  t.same(
    judgeBeats(stuck, { me: '2', b: 'starting:1' }, 60_000, 'me', limits),
    [{ nodeId: 'b', graceful: false, silentMs: 60_000 }],
    'a node that never finishes starting is dead after the start timeout',
  );
  t.end();
});
