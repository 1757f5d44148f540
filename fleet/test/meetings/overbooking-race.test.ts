// Meetings created at the same moment for the same site, on two fleet nodes
// on one PostgreSQL: exactly one is booked. Without the scheduling lock
// (meetings/repository.ts) both pass the check before either inserts, and the
// site sits in two meetings at once. (On SQLite the same transaction takes
// the file's write lock; one process does not interleave these requests
// enough to race, so the race is shown here.)
import t, { type Test } from 'tap';
import { startTestFleet, type TestFleet } from '../helpers/fleet.js';
import { startPostgres } from '../helpers/postgres.js';

const ROUNDS = 4;
const AT_ONCE = 3;

interface Site {
  id: string;
  kind: string;
  parentId: string | null;
}

async function race(t: Test, nodes: TestFleet[]): Promise<void> {
  const sites = (await nodes[0].api<{ items: Site[] }>('GET', '/api/v1/sites?limit=1000')).body.items;
  const departments = sites.filter((s) => s.kind === 'department').map((s) => s.id);
  t.ok(departments.length >= ROUNDS * (AT_ONCE + 1), 'enough sites in the seeds');
  let booked = 0;
  for (let i = 0; i < ROUNDS; i++) {
    // Chairs of their own, one shared site: each request alone would be booked.
    const shared = departments[i]!;
    const answers = await Promise.all(
      Array.from({ length: AT_ONCE }, (_, k) =>
        nodes[k % nodes.length]!.api<{ code?: string }>('POST', '/api/v1/meetings', {
          body: {
            title: `race ${i}.${k}`,
            chairSiteId: departments[ROUNDS + AT_ONCE * i + k]!,
            siteIds: [shared],
            durationMin: 30,
          },
        }),
      ),
    );
    t.equal(answers.filter((a) => a.status === 201).length, 1, `round ${i}: one booked`);
    t.same(
      answers.filter((a) => a.status !== 201).map((a) => a.body.code),
      Array(AT_ONCE - 1).fill('FLEET_ERR_MEETING_SITE_BUSY'),
      'the others refused: the site is busy',
    );
    booked += answers.filter((a) => a.status === 201).length;
  }
  const live = (
    await nodes[nodes.length - 1]!.api<{ items: Array<{ siteIds: string[] }> }>('GET', '/api/v1/meetings?active=true')
  ).body.items;
  for (let i = 0; i < ROUNDS; i++)
    t.equal(live.filter((m) => m.siteIds.includes(departments[i]!)).length, 1, `site ${departments[i]} in one meeting`);
  t.equal(booked, ROUNDS);
}

t.test('PostgreSQL: concurrent creates on two nodes book a site once', async (t) => {
  const pg = await startPostgres(t);
  const databaseUrl = await pg.createDatabase();
  const a = await startTestFleet(t, { databaseUrl });
  const b = await startTestFleet(t, { databaseUrl });
  await race(t, [a, b]);
});
