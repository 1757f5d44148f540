// The README's first command, as a user runs it (minus the install): the demo
// brings the fleet up with simulated boxes and a live meeting over real media
// edges, then Ctrl-C stops every process it started. Ports are free ones picked
// here, never the defaults; a few boxes stand in for the 210.
import t from 'tap';
import { answers, leftAfterExit, processesOf, startDemo } from './demo-run.js';

t.test('npm run demo: fleet, boxes, a live meeting with media; Ctrl-C stops it all', async (t) => {
  const { demo, exited, until, output, http, edge, dataDir } = await startDemo(t, 6); // HTTP, MQTT, core edge, four boxes' edges
  const ready = await until('Ctrl-C stops everything');
  const out = output();
  t.ok(ready, 'the demo says it is ready');
  if (!ready) return void t.comment(out.slice(-3000));
  t.match(out, /all 6 sites online/, 'the simulated boxes came online');
  t.match(out, /media: 4\/4 rooms sending/, 'every room of the meeting sends media');

  const token = /admin token: (\S+)/.exec(out)![1]!;
  const meetingId = /#\/meetings\/(\S+)/.exec(out)![1]!;
  const meeting = (await (
    await fetch(`http://127.0.0.1:${http}/api/v1/meetings/${meetingId}`, {
      headers: { authorization: `Bearer ${token}` },
    })
  ).json()) as {
    state: string;
    cascade: { hostEdgeId: string; coreLinks: number };
    stats: Array<{ bitrateBps: number | null; linkState: string | null }>;
  };
  t.equal(meeting.state, 'live');
  t.same(
    [meeting.cascade.hostEdgeId, meeting.cascade.coreLinks],
    ['core', 2],
    "hosted on the core: the people's committee and the district link to it",
  );
  t.ok(
    meeting.stats.length === 4 && meeting.stats.every((s) => (s.bitrateBps ?? 0) > 0 && s.linkState === 'connected'),
    'live stats for the four rooms',
  );
  const tv = await fetch(`http://127.0.0.1:${edge + 4}/kiosk`);
  t.equal(tv.status, 200, 'a commune box serves its TV page');

  demo.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C stops the demo cleanly');
  const still = await Promise.all([http, edge, edge + 1, edge + 4].map((p) => answers(`http://127.0.0.1:${p}/`)));
  t.same(still, [false, false, false, false], 'the fleet and the edges are gone');
  t.same(await leftAfterExit(dataDir), [], 'no process of this run is left');
});

t.test('Ctrl-C while the demo is still starting its media edges leaves no process behind', async (t) => {
  const { demo, exited, until, output, dataDir } = await startDemo(t, 4);
  // The first media box has enrolled and its edge is starting; the others are not there yet.
  const midway = await until('media box of');
  t.ok(midway, 'the demo got as far as starting its media boxes');
  if (!midway) return void t.comment(output().slice(-3000));
  t.ok(processesOf(dataDir).length >= 3, 'the fleet, the simulator and media processes are running');
  demo.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C stops the demo cleanly');
  t.same(await leftAfterExit(dataDir), [], 'no process of this run is left');
});
