// Join links at the edge, tried the way an attacker would: a real edge process
// (a real mediasoup worker) with no fixed join token, a plan carrying the
// fleet's public join-link key, and links signed with the fleet's private key
// (shared/src/join-link.ts, as the fleet signs them) next to forged, altered,
// expired and misdirected ones. Each refusal is a clear, counted error.
import t from 'tap';
import {
  joinKeyPair,
  newJoinLinkId,
  readJoinClaims,
  signJoinLink,
  type JoinClaims,
  type MediaMeeting,
  type MediaPlan,
} from '@diemcau/shared';
import { spawnEdge, tempDir } from './helpers.js';

const M1 = 'm-link-1';
const M2 = 'm-link-2';
const SITE = 'xa-a';

const meeting = (meetingId: string): MediaMeeting => ({
  meetingId,
  title: `giao ban ${meetingId}`,
  role: 'host',
  upstream: null,
  acceptToken: null,
  localSiteId: SITE,
  chairSiteId: SITE,
  floorSiteId: null,
  rollCallSiteId: null,
  mutedAll: false,
  state: 'live',
});

t.test('a join link opens its own meeting at its own site, and nothing else', async (t) => {
  const fleetKey = joinKeyPair();
  const attackerKey = joinKeyPair();
  // No DIEMCAU_EDGE_JOIN_TOKEN: browsers have only the fleet's links.
  const edge = await spawnEdge({
    edgeId: 'e-link',
    role: 'site',
    env: { DIEMCAU_EDGE_JOIN_TOKEN: '', DIEMCAU_DATA_DIR: tempDir('diemcau-edge-link-') },
  });
  t.teardown(() => edge.kill());
  const plan = (revision: number, meetings: MediaMeeting[], joinKey?: string): MediaPlan => ({
    v: 1,
    revision,
    edgeId: 'e-link',
    meetings,
    ...(joinKey ? { joinKey } : {}),
  });

  const now = Math.floor(Date.now() / 1000);
  const claims = (over: Partial<JoinClaims> = {}): JoinClaims => ({
    v: 1,
    meetingId: M1,
    siteId: SITE,
    role: 'participant',
    iat: now,
    exp: now + 600,
    jti: newJoinLinkId(),
    ...over,
  });
  const good = signJoinLink(claims(), fleetKey.privateKeyPem);

  const call = async (
    bearer: string | null,
    method: string,
    p: string,
    body?: unknown,
  ): Promise<{
    status: number;
    body: { code?: string; reason?: string; message?: string } & Record<string, unknown>;
  }> => {
    const r = await fetch(edge.url + p, {
      method,
      headers: {
        ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as never) : ({} as never) };
  };
  const join = (link: string | null, meetingId = M1) => call(link, 'POST', `/media/v1/meetings/${meetingId}/peers`, {});

  // Before the fleet's key arrives, no link is taken, however well signed.
  await edge.plan(plan(1, [meeting(M1), meeting(M2)]));
  const noKey = await join(good);
  t.equal(noKey.status, 401);
  t.equal(noKey.body.reason, 'join-link-no-key', 'no key from the fleet yet: refused, and said so');

  await edge.plan(plan(2, [meeting(M1), meeting(M2)], fleetKey.publicKeyPem));
  const joined = await join(good);
  t.equal(joined.status, 201, 'a link the fleet signed for this meeting and site joins');
  t.match(joined.body.participantId, new RegExp(`^${SITE}\\.web\\d+$`), 'named as a participant of its site');

  t.equal((await join(null)).status, 401, 'no link: refused');

  // Altered claims under the fleet's signature: the site, the role, the expiry.
  const [payload, sig] = good.split('.') as [string, string];
  const reclaim = (over: Partial<JoinClaims>): string =>
    `${Buffer.from(JSON.stringify({ ...(JSON.parse(Buffer.from(payload, 'base64url').toString()) as JoinClaims), ...over })).toString('base64url')}.${sig}`;
  for (const [what, link] of [
    ['another site', reclaim({ siteId: 'xa-b' })],
    ['a later expiry', reclaim({ exp: now + 86_400 * 365 })],
    ['another meeting', reclaim({ meetingId: M2 })],
    [
      'a flipped signature bit',
      `${payload}.${Buffer.from(Buffer.from(sig, 'base64url').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64url')}`,
    ],
    ["an attacker's own key", signJoinLink(claims(), attackerKey.privateKeyPem)],
  ] as const) {
    const r = await join(link, what === 'another meeting' ? M2 : M1);
    t.equal(r.status, 401, `a link altered to ${what} is refused`);
    t.equal(r.body.reason, 'join-link-signature', `${what}: not signed by the fleet`);
  }
  for (const junk of ['x.y', 'no-dot-at-all', `${'a'.repeat(1100)}.b`, `${payload}.`]) {
    const r = await join(junk);
    t.equal(r.status, 401, `junk (${junk.slice(0, 12)}…) is refused`);
  }

  const expired = await join(signJoinLink(claims({ iat: now - 7200, exp: now - 60 }), fleetKey.privateKeyPem));
  t.equal(expired.status, 401);
  t.equal(expired.body.reason, 'join-link-expired');
  t.match(expired.body.message, /expired at/, 'the error says when it expired');

  const otherSite = await join(signJoinLink(claims({ siteId: 'xa-b' }), fleetKey.privateKeyPem));
  t.equal(otherSite.status, 403, "a link for another site's edge is refused here");
  t.equal(otherSite.body.reason, 'join-link-other-site');
  t.match(otherSite.body.message, /for site xa-b; this edge serves xa-a/);

  const forM2 = signJoinLink(claims({ meetingId: M2 }), fleetKey.privateKeyPem);
  t.equal((await join(forM2, M2)).status, 201, 'a link for the second meeting opens that one');
  const crossed = await join(forM2, M1);
  t.equal(crossed.status, 403, 'but not the first');
  t.equal(crossed.body.reason, 'join-link-other-meeting');

  // A link opens browser routes only.
  for (const [method, p] of [
    ['GET', '/media/v1/stats'],
    ['GET', '/media/v1/dump'],
    ['GET', `/media/v1/meetings/${M1}/streams`],
  ] as const) {
    t.equal((await call(good, method, p)).status, 401, `a join link cannot ${method} ${p}`);
  }
  t.equal(
    (await call(good, 'PUT', '/media/v1/plan', plan(9, [], attackerKey.publicKeyPem))).status,
    401,
    'nor hand the edge a key of its own',
  );

  // A listener receives only: it neither sends nor asks to speak.
  const listener = signJoinLink(claims({ role: 'listener' }), fleetKey.privateKeyPem);
  const lp = await join(listener);
  t.equal(lp.status, 201, 'a listener joins');
  const peer = `/media/v1/meetings/${M1}/peers/${String(lp.body.peerId)}`;
  const produce = await call(listener, 'POST', `${peer}/produce`, {
    transportId: 'x',
    kind: 'audio',
    rtpParameters: {},
  });
  t.equal(produce.status, 403, 'a listener cannot send');
  t.equal(produce.body.reason, 'join-link-listener');
  t.equal((await call(listener, 'POST', `${peer}/speak`, {})).status, 403, 'nor ask to speak');

  // A participant asks to speak: the edge's stats carry it (the agent takes them to the fleet).
  const pp = `/media/v1/meetings/${M1}/peers/${String(joined.body.peerId)}`;
  const asked = await call(good, 'POST', `${pp}/speak`, {});
  t.equal(asked.status, 202);
  t.equal(asked.body.participantId, joined.body.participantId);
  const stats = await edge.stats();
  t.same(
    stats.meetings.find((m) => m.meetingId === M1)?.speakRequests?.map((r) => r.participantId),
    [joined.body.participantId],
    'the request to speak is in the edge stats',
  );

  // The fleet revokes the participant's link: the plan that says so closes its
  // browser at once (its transport with it) and refuses the link from then on;
  // a browser that joined with another link stays.
  const transport = await call(good, 'POST', `${pp}/transports`, {});
  t.equal(transport.status, 201, 'the participant opens a transport');
  const transportId = String(transport.body.id);
  const transportsOf = async (): Promise<string[]> =>
    (await edge.dump()).rooms.find((r) => r.meetingId === M1)?.transportIds ?? [];
  t.ok((await transportsOf()).includes(transportId), 'it is open on the worker');
  const other = signJoinLink(claims(), fleetKey.privateKeyPem);
  const otherPeer = await join(other);
  t.equal(otherPeer.status, 201);
  await edge.plan(
    plan(3, [{ ...meeting(M1), revokedLinks: [readJoinClaims(good)!.jti] }, meeting(M2)], fleetKey.publicKeyPem),
  );
  t.notOk((await transportsOf()).includes(transportId), "revoked: the browser's transport is closed at once");
  const afterRevoke = await call(good, 'GET', `${pp}/layout`);
  t.equal(afterRevoke.status, 401, "the revoked link's next request is refused");
  t.equal(afterRevoke.body.reason, 'join-link-revoked', 'and says why');
  t.equal((await join(good)).body.reason, 'join-link-revoked', 'so is joining again with it');
  t.equal(
    (await call(other, 'GET', `/media/v1/meetings/${M1}/peers/${String(otherPeer.body.peerId)}/layout`)).status,
    200,
    'another link of the same site is untouched',
  );

  // The meeting ends: the same link, replayed, is refused, and says why.
  await edge.plan(plan(4, [meeting(M2)], fleetKey.publicKeyPem));
  const replay = await join(good);
  t.equal(replay.status, 403, 'replayed after the meeting ended: refused');
  t.equal(replay.body.reason, 'join-link-meeting-closed');
  t.match(replay.body.message, /has ended/);
  t.equal((await call(other, 'GET', `${pp}/layout`)).status, 403, "and the peer's routes went with the meeting");

  const refused = (await edge.api<{ byReason: Record<string, number> }>('GET', '/media/v1/refusals')).body.byReason;
  for (const reason of [
    'join-link-no-key',
    'join-link-signature',
    'join-link-expired',
    'join-link-other-site',
    'join-link-other-meeting',
    'join-link-listener',
    'join-link-meeting-closed',
    'join-link-revoked',
  ])
    t.ok((refused[reason] ?? 0) >= 1, `${reason} counted`);

  const page = await fetch(`${edge.url}/media/v1/join?link=${good}`);
  t.equal(page.status, 200, 'the join page itself is public (it explains a refusal in words)');
  await page.text();
});
