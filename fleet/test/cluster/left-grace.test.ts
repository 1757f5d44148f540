// The boxes of a node that stopped gracefully (a rolling restart) are moving,
// not down: when the leader ends what is left of that node's sessions, each
// box gets DIEMCAU_CLUSTER_LEFT_GRACE_MS to arrive on another node before its
// offline alert, not the shorter grace a node's death gives. A box that never
// arrives is still alerted once that grace is over.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ADMIN_TOKEN, connectDevice, waitFor } from '../helpers/fleet.js';
import { startRedis } from '../helpers/redis.js';
import { at, enrol, startNode } from '../helpers/in-process-nodes.js';

const LEFT_GRACE_MS = 6000;

t.test("a gracefully stopped node's boxes get the longer grace, then their alert", async (t) => {
  const redis = await startRedis(t);
  const dataDir = mkdtempSync(join(tmpdir(), 'diemcau-cluster-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const timings = { startupGraceMs: 300, offlineDebounceMs: 0, clusterLeftGraceMs: LEFT_GRACE_MS };
  const a = await startNode(t, redis.url, dataDir, 'node-a', timings);
  await waitFor(() => a.leadership.isLeader, 10_000, 'node A leads');
  const b = await startNode(t, redis.url, dataDir, 'node-b', timings);
  const box = await enrol(a, 'yb-city');
  const client = await connectDevice(t, at(b, box));
  client.on('error', () => undefined);
  await waitFor(() => a.presence.isOnline(box.deviceId), 10_000, 'online on the leader');

  const offlineAlerts = async (): Promise<number> => {
    const res = await a.http.inject({
      method: 'GET',
      url: '/api/v1/alerts?state=open&type=device-offline',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    return res.json<{ items: unknown[] }>().items.length;
  };

  // Node B stops as an upgrade stops it; its box does not come back (it reconnects never).
  await b.close();
  await waitFor(() => !a.presence.isOnline(box.deviceId), 20_000, "the leader ended node B's sessions");
  const ended = Date.now();
  await new Promise((r) => setTimeout(r, LEFT_GRACE_MS / 2));
  t.equal(await offlineAlerts(), 0, 'no alert while the box may still be moving (past the death grace)');
  await waitFor(async () => (await offlineAlerts()) === 1, 20_000, 'the alert once the grace is over');
  t.ok(Date.now() - ended >= LEFT_GRACE_MS - 500, 'and not before the grace');
});
