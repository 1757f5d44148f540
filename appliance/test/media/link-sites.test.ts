// A linked edge may announce streams only under the sites the plan puts
// behind it. The selective forwarding and the host's speaker observer act on a
// stream's site id: a commune's box that could announce the chair's site would
// have its camera featured everywhere and its voice heard as the chair's.
//
// Real edge processes, each with its own mediasoup worker, linked over the
// HTTP link protocol. A compromised box is played by an edge whose own plan
// lies about its local site (a box controls its own plan): it announces its
// ffmpeg room under another site's id. The upstream's plan, from the fleet,
// says which sites each downstream brings in.
import t from 'tap';
import type { MediaDownstream, MediaMeeting, MediaPlan } from '@diemcau/shared';
import { hostPlan, spawnEdge, token, until, type EdgeProc } from './helpers.js';

const M = 'm-sites';
const CHAIR = 'site-b';

interface Refusals {
  byReason: Record<string, number>;
}

// The honest commune has the floor, so its camera and microphone cross to the core
// whoever the core's observer hears (a silent room is never named speaker).
const base = {
  meetingId: M,
  title: 'giao ban',
  chairSiteId: CHAIR,
  floorSiteId: 'site-y',
  rollCallSiteId: null,
  mutedAll: false,
  state: 'live',
} as const;

function leafPlan(leaf: EdgeProc, core: EdgeProc, accept: string, localSiteId: string, revision = 1): MediaPlan {
  const meeting: MediaMeeting = {
    ...base,
    role: 'leaf',
    upstream: { edgeId: core.edgeId, signalUrl: core.url, linkToken: accept },
    acceptToken: null,
    downstream: [],
    localSiteId,
  };
  return { v: 1, revision, edgeId: leaf.edgeId, meetings: [meeting] };
}

const refusals = async (e: EdgeProc): Promise<Record<string, number>> =>
  (await e.api<Refusals>('GET', '/media/v1/refusals')).body.byReason;

t.test("a downstream edge announcing the chair's site is refused; its streams reach nobody", async (t) => {
  const edges: EdgeProc[] = [];
  t.teardown(async () => {
    await Promise.all(edges.map((e) => e.kill('SIGKILL')));
  });
  const start = async (edgeId: string, voice: 'tone' | 'silent' | null): Promise<EdgeProc> => {
    const e = await spawnEdge({
      edgeId,
      role: edgeId.startsWith('core') ? 'core' : 'site',
      hardware: voice ? 'simulated' : 'none',
      env: voice ? { DIEMCAU_EDGE_SIM_VOICE: voice } : {},
    });
    edges.push(e);
    return e;
  };
  // cX is the commune site-x's box, speaking (a tone) and posing as the chair;
  // cY is the honest commune site-y, silent.
  const [core, cX, cY] = await Promise.all([start('core', null), start('cX', 'tone'), start('cY', 'silent')]);
  const accept = token();
  const named = (edgeId: string, siteIds: string[]): MediaDownstream => ({ edgeId, addresses: ['127.0.0.1'], siteIds });
  await core.plan(
    hostPlan(core.edgeId, { ...base, accept, downstream: [named('cX', ['site-x']), named('cY', ['site-y'])] }),
  );
  await cX.plan(leafPlan(cX, core, accept, CHAIR));
  await cY.plan(leafPlan(cY, core, accept, 'site-y'));

  const fromX = await until('cX announces its room as the chair', async () => {
    const l = (await cX.streams(M)).filter((s) => s.via === null && s.siteId === CHAIR);
    return l.length === 2 ? l : null;
  });
  // The honest commune's streams come in: the links and the forwarding work.
  const fromY = await until('site-y streams at the core', async () => {
    const l = (await core.streams(M)).filter((s) => s.siteId === 'site-y' && s.via === 'cY');
    return l.length === 2 ? l : null;
  });
  const counted = await until("cX's streams refused at the core", async () => {
    const r = await refusals(core);
    return (r['link-site-not-below'] ?? 0) >= 2 ? r : null;
  });
  t.equal(counted['link-site-not-below'], 2, "both of cX's streams refused, counted by reason");

  const atCore = await core.streams(M);
  t.same(
    atCore.filter((s) => s.via === 'cX'),
    [],
    'nothing from cX is held at the core',
  );
  t.same(
    atCore.filter((s) => s.siteId === CHAIR),
    [],
    "no stream under the chair's site at the core",
  );
  for (const s of fromX) {
    const tap = await core.api<{ code?: string }>('POST', `/media/v1/meetings/${M}/taps`, {
      producerId: s.id,
      ip: '127.0.0.1',
      port: 40998,
    });
    t.equal(tap.status, 404, `no consumer can be made of cX's ${s.kind} at the core`);
  }
  const good = await core.api<{ tapId: string }>('POST', `/media/v1/meetings/${M}/taps`, {
    producerId: fromY.find((s) => s.kind === 'video')!.id,
    ip: '127.0.0.1',
    port: 40996,
  });
  t.equal(good.status, 201, "while site-y's camera can be tapped at the core");
  await core.api('DELETE', `/media/v1/meetings/${M}/taps/${good.body.tapId}`);
  t.same(
    (await cY.streams(M)).filter((s) => s.originEdgeId === 'cX' || s.siteId === CHAIR),
    [],
    'and none reaches the other commune',
  );

  // The core's speaker observer never heard cX's tone as the chair: for a
  // while (bounded) the core names nobody, or the honest commune, never site-b.
  const heard = new Set<string | null>();
  for (let i = 0; i < 10; i++) {
    heard.add((await core.stats()).meetings[0]?.activeSpeakerSiteId ?? null);
    await new Promise((r) => setTimeout(r, 300));
  }
  t.notOk(heard.has(CHAIR), `the chair is not taken to speak (heard: ${[...heard].join(', ')})`);

  // A new plan that no longer puts site-y behind cY drops its streams at once.
  await core.plan(
    hostPlan(core.edgeId, { ...base, accept, downstream: [named('cX', ['site-x']), named('cY', [])], revision: 2 }),
  );
  await until(
    'site-y streams dropped by the new plan',
    async () => ((await core.streams(M)).some((s) => s.via === 'cY') ? null : true),
    10_000,
  );
  t.equal((await refusals(core))['link-site-not-below'], 4, 'the two dropped streams counted too');
  t.equal((await core.api('GET', '/media/v1/health')).status, 200, 'the edge kept running');
});

t.test("an upstream cannot pose as the downstream edge's own room", async (t) => {
  const edges: EdgeProc[] = [];
  t.teardown(async () => {
    await Promise.all(edges.map((e) => e.kill('SIGKILL')));
  });
  const core = await spawnEdge({ edgeId: 'core2', role: 'core' });
  edges.push(core);
  const cX = await spawnEdge({ edgeId: 'cX2', hardware: 'simulated', env: { DIEMCAU_EDGE_SIM_VOICE: 'silent' } });
  edges.push(cX);
  const cY = await spawnEdge({ edgeId: 'cY2' });
  edges.push(cY);
  const accept = token();
  // The upstream here takes cX2's streams of site-y in and, believing cY2 is
  // site-z's edge, passes them down to cY2, whose room is site-y (as a
  // compromised or mistaken upstream would).
  // site-y has the floor, so its streams flow down every link (a link carries
  // only what someone beyond it receives).
  const floorY = (p: MediaPlan): MediaPlan => ({
    ...p,
    meetings: p.meetings.map((m) => ({ ...m, floorSiteId: 'site-y' })),
  });
  await core.plan(
    floorY(
      hostPlan(core.edgeId, {
        ...base,
        accept,
        downstream: [
          { edgeId: 'cX2', addresses: ['127.0.0.1'], siteIds: ['site-x', 'site-y'] },
          { edgeId: 'cY2', addresses: ['127.0.0.1'], siteIds: ['site-z'] },
        ],
      }),
    ),
  );
  await cX.plan(floorY(leafPlan(cX, core, accept, 'site-y')));
  await cY.plan(floorY(leafPlan(cY, core, accept, 'site-y')));
  const atCore = await until('the core took the streams in', async () => {
    const l = (await core.streams(M)).filter((s) => s.via === 'cX2');
    return l.length === 2 ? l : null;
  });
  const counted = await until('cY2 refused them', async () => {
    const r = await refusals(cY);
    return (r['link-site-own-subtree'] ?? 0) >= 2 ? r : null;
  });
  t.equal(counted['link-site-own-subtree'], 2, 'both refused at cY2, counted');
  const atY = await cY.streams(M);
  t.same(
    atY.filter((s) => atCore.some((c) => c.id === s.id)),
    [],
    'cY2 holds none of them',
  );
  t.equal(
    (await cY.stats()).meetings[0]?.links.find((l) => l.direction === 'up')?.state,
    'connected',
    'and its link to the upstream stays up',
  );
});

t.test('a link that keeps announcing sites it may not name is closed', async (t) => {
  const core = await spawnEdge({ edgeId: 'core3', role: 'core' });
  t.teardown(() => core.kill());
  const accept = token();
  await core.plan(
    hostPlan(core.edgeId, {
      ...base,
      accept,
      downstream: [{ edgeId: 'cA', addresses: ['127.0.0.1'], siteIds: ['site-a'] }],
    }),
  );
  const post = async (path: string, body: unknown): Promise<{ status: number; body: { linkId?: string } | null }> => {
    const res = await fetch(core.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${accept}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as { linkId?: string }) : null };
  };
  // Pipe transports take AEAD_AES_256_GCM only (a 44-byte key and salt).
  const srtp = {
    cryptoSuite: 'AEAD_AES_256_GCM',
    keyBase64: 'ZGllbWNhdS1saW5rLXRlc3QtZGllbWNhdS1saW5rLXRlc3QtZGllbWNhdS0=',
  };
  const link = await post(`/media/v1/meetings/${M}/links`, { v: 1, edgeId: 'cA', ip: '127.0.0.1', port: 40010, srtp });
  t.equal(link.status, 201, 'the named downstream links');
  // The chair's site, then 99 other sites: every one refused, none produced.
  const events = Array.from({ length: 100 }, (_, i) => ({
    type: 'produce',
    producerId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    kind: 'audio',
    paused: false,
    siteId: i === 0 ? CHAIR : `xa-${i}`,
    originEdgeId: 'cA',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
      encodings: [{ ssrc: 5000 + i }],
    },
  }));
  const sent = await post(`/media/v1/meetings/${M}/links/${link.body!.linkId}/events`, { v: 1, events });
  t.equal(sent.status, 204, 'the batch is taken (refusals are per stream)');
  const counted = await until(
    'the link closed after 64 refusals',
    async () => {
      const r = await refusals(core);
      return r['link-site-refusals'] === 1 ? r : null;
    },
    10_000,
  );
  t.equal(counted['link-site-not-below'], 64, 'refusals counted up to the bound, then the link goes');
  t.same(await core.streams(M), [], 'nothing produced');
  await until(
    'the pipe is gone',
    async () => ((await core.dump()).rooms[0]!.transportIds.length === 0 ? true : null),
    10_000,
  );
  t.equal((await core.api('GET', '/media/v1/health')).status, 200, 'the edge kept running');
});
