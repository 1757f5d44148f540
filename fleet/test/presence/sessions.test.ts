// The session table on the orders aedes and a cluster really produce.
import t from 'tap';
import { SessionTable } from '../../src/presence/sessions.js';

const s = (deviceId: string, n: number, nodeId = 'a') => ({ deviceId, sessionId: `${nodeId}:${n}`, nodeId });

t.test('a reconnect while the old session is still closing is one device, online once', async (t) => {
  const table = new SessionTable();
  t.same(table.start(s('d1', 1)), { deviceId: 'd1', online: true });
  t.equal(table.start(s('d1', 2, 'b')), null, 'the new session on node b: no change');
  t.equal(table.end('a:1', 'd1'), null, 'the old one closing late: no change');
  t.equal(table.online, 1);
  t.same(table.end('b:2', 'd1'), { deviceId: 'd1', online: false });
  t.equal(table.online, 0);
});

t.test('an end that overtakes its start leaves nothing behind', async (t) => {
  const table = new SessionTable();
  t.equal(table.end('a:7', 'd1'), null);
  t.equal(table.start(s('d1', 7)), null, 'the late start of an ended session is ignored');
  t.equal(table.online, 0);
  t.notOk(table.isOnline('d1'));
});

t.test('a start or an end seen twice counts once', async (t) => {
  const table = new SessionTable();
  table.start(s('d1', 1));
  t.equal(table.start(s('d1', 1)), null);
  t.same(table.end('a:1', 'd1'), { deviceId: 'd1', online: false });
  t.equal(table.end('a:1', 'd1'), null);
  t.equal(table.online, 0);
});

t.test("a dead node's sessions end; devices that moved stay online", async (t) => {
  const table = new SessionTable();
  table.start(s('moved', 1, 'a'));
  table.start(s('moved', 2, 'b'));
  table.start(s('stranded', 3, 'a'));
  table.start(s('elsewhere', 4, 'b'));
  t.same(table.endNode('a'), [{ deviceId: 'stranded', online: false }]);
  t.same([...table.nodes()], ['b']);
  t.equal(table.online, 2);
  t.equal(table.start(s('stranded', 3, 'a')), null, "a late event of the dead node's session is ignored");
});

t.test('forget ends every session of a revoked device', async (t) => {
  const table = new SessionTable();
  table.start(s('d1', 1, 'a'));
  table.start(s('d1', 2, 'b'));
  t.equal(table.forget('d1'), true);
  t.equal(table.end('b:2', 'd1'), null);
  t.equal(table.online, 0);
});
