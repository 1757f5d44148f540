// The dashboard's store against a slow fleet: a device list asked for before
// a feed event and answered after it must not undo the event, and a list
// reload must not cancel the check of a dropped box's media for good.
import t from 'tap';
import type { Api } from '../../ui/api/client.js';
import type { Device, Meeting } from '../../ui/api/types.js';
import { Store } from '../../ui/state/store.js';

const device = (id: string, online: boolean): Device =>
  ({ id, siteId: `site-${id}`, online, lastSeenAt: '2026-12-01T00:00:00.000Z' }) as Device;

/** An API whose device lists are answered when the test says so; every GET is noted. */
function slowApi(meetings: Meeting[] = []) {
  const asked: string[] = [];
  const held: { resolve: (v: unknown) => void }[] = [];
  const api: Api = {
    token: 'test',
    get<T>(path: string): Promise<T> {
      asked.push(path);
      if (path === '/api/v1/devices' && asked.filter((p) => p === path).length > 1)
        return new Promise<T>((resolve) => held.push({ resolve: resolve as (v: unknown) => void }));
      if (path === '/api/v1/devices') return Promise.resolve({ items: [device('a', true), device('b', true)] } as T);
      if (path === '/api/v1/meetings') return Promise.resolve({ items: meetings } as T);
      if (path.startsWith('/api/v1/meetings/')) return Promise.resolve({ stats: [] } as T);
      return Promise.resolve({ items: [] } as T);
    },
    post: () => Promise.reject(new Error('not here')),
    del: () => Promise.reject(new Error('not here')),
  };
  return { api, asked, held };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A meeting that started a minute ago and runs for an hour. */
function liveMeeting(siteIds: string[]): Meeting {
  const now = Date.now();
  return {
    id: 'm1',
    chairSiteId: 'site-x',
    siteIds,
    state: 'live',
    startsAt: new Date(now - 60_000).toISOString(),
    endsAt: new Date(now + 3_600_000).toISOString(),
  } as Meeting;
}

t.test('a device list answered after a feed event keeps the event', async (t) => {
  const { api, held } = slowApi();
  const store = new Store(api);
  t.teardown(() => store.close());
  await store.load();
  store.apply({ type: 'enrolled', deviceId: 'c', siteId: 'site-c' });
  await settle(400); // the reload is asked for and held
  t.equal(held.length, 1, 'the reload is in flight');
  store.apply({ type: 'presence', deviceId: 'a', siteId: 'site-a', online: false, at: new Date().toISOString() });
  held[0]!.resolve({ items: [device('a', true), device('b', false), device('c', true)] });
  await settle(10);
  const byId = new Map(store.snapshot.devices.map((d) => [d.id, d]));
  t.equal(byId.get('a')?.online, false, 'the box the feed saw drop stays offline');
  t.equal(byId.get('b')?.online, false, 'a box the feed said nothing of takes the list');
  t.ok(byId.has('c'), 'the new box is listed');
});

t.test('a box decommissioned while a list is in flight does not come back', async (t) => {
  const { api, held } = slowApi();
  const store = new Store(api);
  t.teardown(() => store.close());
  await store.load();
  store.apply({ type: 'enrolled', deviceId: 'c', siteId: 'site-c' });
  await settle(400);
  store.apply({ type: 'presence', deviceId: 'b', siteId: 'site-b', online: false, reason: 'revoked', at: '' });
  held[0]!.resolve({ items: [device('a', true), device('b', true)] });
  await settle(10);
  t.same(
    store.snapshot.devices.map((d) => d.id),
    ['a'],
  );
});

t.test("a list reload does not cancel the check of a dropped box's media", async (t) => {
  const live = liveMeeting(['site-a', 'site-b']);
  const { api, asked } = slowApi([live]);
  const store = new Store(api);
  t.teardown(() => store.close());
  await store.load();
  await settle(10); // the meetings arrive
  store.apply({ type: 'presence', deviceId: 'a', siteId: 'site-a', online: false, at: new Date().toISOString() });
  store.apply({ type: 'enrolled', deviceId: 'c', siteId: 'site-c' });
  await settle(1300);
  t.ok(asked.includes('/api/v1/meetings/m1'), "the meeting's figures are asked for");
  const before = asked.filter((p) => p === '/api/v1/meetings/m1').length;
  store.apply({ type: 'presence', deviceId: 'b', siteId: 'site-b', online: false, at: new Date().toISOString() });
  await settle(1300);
  t.equal(asked.filter((p) => p === '/api/v1/meetings/m1').length, before + 1, 'and again for the next box that drops');
});

t.test('a dropped box whose media is not seen yet is asked about again a few seconds later', async (t) => {
  const live = liveMeeting(['site-a']);
  const { api, asked } = slowApi([live]);
  const store = new Store(api);
  t.teardown(() => store.close());
  await store.load();
  await settle(10);
  store.apply({ type: 'presence', deviceId: 'a', siteId: 'site-a', online: false, at: new Date().toISOString() });
  const checks = (): number => asked.filter((p) => p === '/api/v1/meetings/m1').length;
  await settle(1300);
  t.equal(checks(), 1, 'asked a second after the drop');
  await settle(5300);
  t.equal(checks(), 2, 'no media seen (the upstream may not have reported yet): asked again');
  store.apply({ type: 'presence', deviceId: 'a', siteId: 'site-a', online: true, at: new Date().toISOString() });
  await settle(5300);
  const after = checks();
  t.ok(after <= 3, `the box is back: at most the check already due (${after - 2})`);
  await settle(5300);
  t.equal(checks(), after, 'then no more');
});
