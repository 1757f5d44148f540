// A cascade link offer is accepted only from, and to, the addresses the plan
// names for that downstream edge: the offer names where the upstream sends the
// meeting's media, so without this anyone holding the link token could aim it
// at any host (or at every host: broadcast, multicast). HTTP-level, against a
// real edge process with a real mediasoup worker. Loopback addresses other
// than 127.0.0.1 (127.0.0.2) stand in for other hosts: Linux routes all of
// 127.0.0.0/8 to this machine, so a test can connect from another address.
import http from 'node:http';
import t from 'tap';
import { hostPlan, spawnEdge, token, until, type EdgeProc } from './helpers.js';

const M = 'm-admit';

interface Reply {
  status: number;
  body: { code?: string; reason?: string; linkId?: string } | null;
}

/** One JSON request, from a chosen local address. */
function call(
  url: string,
  method: string,
  path: string,
  bearer: string,
  body: unknown,
  localAddress = '127.0.0.1',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      new URL(path, url),
      {
        method,
        localAddress,
        headers: {
          authorization: `Bearer ${bearer}`,
          ...(text ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } : {}),
        },
      },
      (res) => {
        let data = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => {
            data += d;
          })
          .on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: data ? (JSON.parse(data) as Reply['body']) : null }),
          );
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end(text);
  });
}

// Pipe transports take AEAD_AES_256_GCM only (a 44-byte key and salt).
const srtp = {
  cryptoSuite: 'AEAD_AES_256_GCM',
  keyBase64: 'ZGllbWNhdS1saW5rLXRlc3QtZGllbWNhdS1saW5rLXRlc3QtZGllbWNhdS0=',
};
const offer = (edgeId: string, ip: string, port: number) => ({ v: 1, edgeId, ip, port, srtp });

t.test('link offers only from and to the addresses the plan names', async (t) => {
  const core: EdgeProc = await spawnEdge({ edgeId: 'core', role: 'core' });
  t.teardown(() => core.kill());
  const accept = token();
  const plan = hostPlan('core', {
    meetingId: M,
    chairSiteId: 'so-1',
    accept,
    downstream: [
      { edgeId: 'cA', addresses: ['127.0.0.1'], rtpPorts: { min: 40000, max: 40999 } },
      // A district somewhere else on the network: its offers must come from there.
      { edgeId: 'dB', addresses: ['10.77.0.9'] },
      // Named by a host name that resolves to loopback: that is the plan naming loopback.
      { edgeId: 'cL', addresses: ['localhost'] },
    ],
  });
  const meeting = plan.meetings[0]!;
  await core.plan(plan);
  const links = `/media/v1/meetings/${M}/links`;
  const post = (body: unknown, from?: string) => call(core.url, 'POST', links, accept, body, from);

  const refusals: Array<[string, unknown, string | undefined, string]> = [
    ['an edge the plan does not name', offer('intruder', '127.0.0.1', 40010), undefined, 'link-edge-not-named'],
    ['media to another host', offer('cA', '10.1.2.3', 40010), undefined, 'link-target-not-named'],
    ['media to 0.0.0.0', offer('cA', '0.0.0.0', 40010), undefined, 'link-target-unspecified'],
    ['media to ::', offer('cA', '::', 40010), undefined, 'link-target-unspecified'],
    [
      'media to ::1 (loopback, but not the one named)',
      offer('cA', '::1', 40010),
      undefined,
      'link-target-loopback-not-named',
    ],
    [
      'media to 127.0.0.2 (loopback, not named)',
      offer('cA', '127.0.0.2', 40010),
      undefined,
      'link-target-loopback-not-named',
    ],
    ['media to multicast', offer('cA', '239.1.2.3', 40010), undefined, 'link-target-multicast'],
    ['media to IPv6 multicast', offer('cA', 'ff02::1', 40010), undefined, 'link-target-multicast'],
    ['media to broadcast', offer('cA', '255.255.255.255', 40010), undefined, 'link-target-broadcast'],
    [
      'media to a mapped unspecified address',
      offer('cA', '::ffff:0.0.0.0', 40010),
      undefined,
      'link-target-unspecified',
    ],
    ['media to a port outside the named range', offer('cA', '127.0.0.1', 22), undefined, 'link-target-port'],
    [
      'an offer from another address than the one named',
      offer('cA', '127.0.0.1', 40010),
      '127.0.0.2',
      'link-source-not-named',
    ],
    [
      'an offer for an edge named elsewhere, sent from here',
      offer('dB', '10.77.0.9', 40010),
      undefined,
      'link-source-not-named',
    ],
    ['an edge with no port range named: system ports', offer('cL', '127.0.0.1', 53), undefined, 'link-target-port'],
  ];
  for (const [what, body, from, reason] of refusals) {
    const r = await post(body, from);
    t.equal(r.status, 403, `refused: ${what}`);
    t.match(r.body, { code: 'APPL_ERR_MEDIA_FORBIDDEN', reason }, `with its reason (${reason})`);
  }
  const counted = await core.api<{ byReason: Record<string, number> }>('GET', '/media/v1/refusals');
  t.equal(counted.body.byReason['link-target-unspecified'], 3, 'refusals are counted by reason');
  t.equal(counted.body.byReason['link-source-not-named'], 2);
  t.ok(
    core.logs.some((l) => l.includes('"reason":"link-target-broadcast"')),
    'and logged with the reason',
  );
  t.same((await core.dump()).rooms[0]!.transportIds, [], 'no pipe transport was made for any refused offer');

  // The named edge, from its named address, to its named address and port range.
  const ok = await post(offer('cA', '127.0.0.1', 40010));
  t.equal(ok.status, 201, 'the named downstream links');
  const cL = await post(offer('cL', '127.0.0.1', 40020));
  t.equal(cL.status, 201, 'a downstream named as localhost links over loopback');
  // Its link is used only from there too.
  const events = `${links}/${ok.body!.linkId}/events`;
  const fromElsewhere = await call(
    core.url,
    'POST',
    events,
    accept,
    { v: 1, events: [{ type: 'ping', t: 1 }] },
    '127.0.0.2',
  );
  t.match(
    fromElsewhere,
    { status: 403, body: { reason: 'link-source-not-named' } },
    'its link events are refused from another address',
  );
  const fromThere = await call(core.url, 'POST', events, accept, { v: 1, events: [{ type: 'ping', t: 1 }] });
  t.equal(fromThere.status, 204, 'and accepted from its own');
  t.equal(
    (await call(core.url, 'DELETE', `${links}/${ok.body!.linkId}`, accept, undefined, '127.0.0.2')).status,
    403,
    'nor can another address close it',
  );

  // A repeated offer (a reconnect, or a flood) replaces the edge's link: pipes do not pile up.
  for (let i = 0; i < 5; i++) t.equal((await post(offer('cA', '127.0.0.1', 40030 + i))).status, 201);
  const transports = await until(
    'old links closed',
    async () => {
      const ids = (await core.dump()).rooms[0]!.transportIds;
      return ids.length === 2 ? ids : null;
    },
    10_000,
  );
  t.equal(transports.length, 2, 'one pipe per named downstream edge (cA and cL)');

  // A new plan that no longer names cA closes its link.
  await core.plan({ ...plan, revision: 2, meetings: [{ ...meeting, downstream: [meeting.downstream![2]!] }] });
  await until(
    'cA link closed by the new plan',
    async () => ((await core.dump()).rooms[0]!.transportIds.length === 1 ? true : null),
    10_000,
  );
  t.match(
    await post(offer('cA', '127.0.0.1', 40040)),
    { status: 403, body: { reason: 'link-edge-not-named' } },
    'and cA can no longer link',
  );
  t.equal((await core.api('GET', '/media/v1/health')).status, 200, 'the edge kept running');
});

t.test('a plan with no downstream list accepts no link (fail closed)', async (t) => {
  const core = await spawnEdge({ edgeId: 'core2', role: 'core' });
  t.teardown(() => core.kill());
  const accept = token();
  // No downstream list at all, not even an empty one.
  await core.plan(hostPlan('core2', { meetingId: M, chairSiteId: 'so-1', accept }));
  const r = await call(core.url, 'POST', `/media/v1/meetings/${M}/links`, accept, offer('cA', '127.0.0.1', 40010));
  t.match(r, { status: 403, body: { reason: 'link-edge-not-named' } });
});

t.test('a linked edge announces at most so many streams over its link', async (t) => {
  const core = await spawnEdge({ edgeId: 'core3', role: 'core', env: { DIEMCAU_EDGE_MAX_STREAMS_PER_LINK: '3' } });
  t.teardown(() => core.kill());
  const accept = token();
  await core.plan(
    hostPlan('core3', {
      meetingId: M,
      chairSiteId: 'so-1',
      accept,
      downstream: [{ edgeId: 'cA', addresses: ['127.0.0.1'], siteIds: Array.from({ length: 8 }, (_, i) => `xa-${i}`) }],
    }),
  );
  const link = await call(core.url, 'POST', `/media/v1/meetings/${M}/links`, accept, offer('cA', '127.0.0.1', 40010));
  t.equal(link.status, 201);
  const events = Array.from({ length: 8 }, (_, i) => ({
    type: 'produce',
    producerId: `00000000-0000-4000-8000-00000000000${i}`,
    kind: 'audio',
    paused: false,
    siteId: `xa-${i}`,
    originEdgeId: 'cA',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
      encodings: [{ ssrc: 5000 + i }],
    },
  }));
  t.equal(
    (
      await call(core.url, 'POST', `/media/v1/meetings/${M}/links/${link.body!.linkId}/events`, accept, {
        v: 1,
        events,
      })
    ).status,
    204,
  );
  const counted = await until(
    'the extra streams refused',
    async () => {
      const r = await core.api<{ byReason: Record<string, number> }>('GET', '/media/v1/refusals');
      return r.body.byReason['link-streams'] === 5 ? r.body : null;
    },
    10_000,
  );
  t.equal(counted.byReason['link-streams'], 5, 'five of eight announced streams refused, counted');
  t.equal((await core.streams(M)).length, 3, 'three taken in');
});

t.test('a downstream edge sends its media only to its upstream', async (t) => {
  // A stand-in upstream that answers every offer with another host as the media target.
  const answers = ['10.9.9.9', '0.0.0.0', '255.255.255.255'];
  let offers = 0;
  const fake = http.createServer((req, res) => {
    req.resume();
    const ip = answers[offers++ % answers.length];
    res
      .writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ v: 1, linkId: `l${offers}`, edgeId: 'evil', ip, port: 40000, srtp }));
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        fake.closeAllConnections();
        fake.close(() => r());
      }),
  );
  const cA = await spawnEdge({ edgeId: 'cA' });
  t.teardown(() => cA.kill());
  const { port } = fake.address() as import('node:net').AddressInfo;
  await cA.plan({
    v: 1,
    revision: 1,
    edgeId: 'cA',
    meetings: [
      {
        meetingId: M,
        title: 'x',
        role: 'leaf',
        upstream: { edgeId: 'evil', signalUrl: `http://127.0.0.1:${port}`, linkToken: token() },
        acceptToken: null,
        localSiteId: 'site-a',
        chairSiteId: 'so-1',
        floorSiteId: null,
        rollCallSiteId: null,
        mutedAll: false,
        state: 'live',
      },
    ],
  });
  const counted = await until(
    'three answers refused',
    async () => {
      const r = await cA.api<{ byReason: Record<string, number> }>('GET', '/media/v1/refusals');
      const b = r.body.byReason;
      return b['link-answer-target-not-upstream'] &&
        b['link-answer-target-unspecified'] &&
        b['link-answer-target-broadcast']
        ? b
        : null;
    },
    30_000,
  );
  t.ok(counted['link-answer-target-not-upstream']! >= 1, 'media to another host than the upstream: refused, counted');
  t.ok(counted['link-answer-target-unspecified']! >= 1, 'to 0.0.0.0: refused');
  t.ok(counted['link-answer-target-broadcast']! >= 1, 'to broadcast: refused');
  t.same((await cA.dump()).rooms[0]!.transportIds, [], 'no pipe left behind');
});
