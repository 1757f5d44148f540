// Thumbnails as a small layer, with real edges, real GStreamer senders and the
// TV's page in real Chromium. The chair's box hosts the meeting; the floor's
// room and the TV's box link to it:
//
//        e-chair (host, site chair)
//        /            \
//   e-floor          tv (leaf, site tv-room: no camera, the TV's page)
//
// Every room camera is sent twice by GStreamer: 320x240 and a 160x120 small
// picture (layers.ts). The floor's camera is shown large on the TV, then as a
// thumbnail during the chair's roll call, then large again. Checked on what
// arrives, not on flags: the size and count of the frames the TV's Chromium
// decodes for each picture, and which of the floor's two streams the link to
// the TV's box lets through.
import t from 'tap';
import type { MediaMeeting } from '@diemcau/shared';
import { launchChromium, node, plansFor, spawnEdge, until, type EdgeProc, type Node } from './helpers.js';

const M = 'm-layers';

interface Picture {
  siteId: string;
  producerId: string;
  shown: boolean;
  frames: number;
  keyframes: number;
  width: number;
  height: number;
}

const TITLE = 'a thumbnail gets the small picture, a large picture the full one, and a switch brings a keyframe';
t.test(TITLE, async (t) => {
  const edges: EdgeProc[] = [];
  t.teardown(async () => {
    await Promise.all(edges.map((e) => e.kill('SIGKILL')));
  });
  const spawn = async (edgeId: string, camera: boolean): Promise<EdgeProc> => {
    const e = await spawnEdge({
      edgeId,
      hardware: camera ? 'simulated' : 'none',
      env: camera ? { DIEMCAU_EDGE_SIM_VOICE: 'silent', DIEMCAU_EDGE_SMALL_KBPS: '60' } : {},
    });
    edges.push(e);
    return e;
  };
  const [chairEdge, floorEdge, tvEdge] = await Promise.all([
    spawn('e-chair', true),
    spawn('e-floor', true),
    spawn('tv', false),
  ]);
  const host = node(chairEdge, 'chair', null);
  const rooms: Node[] = [host, node(floorEdge, 'floor', host), node(tvEdge, 'tv-room', host)];
  let revision = 0;
  const apply = async (extra: Partial<MediaMeeting>): Promise<void> => {
    revision += 1;
    for (const [n, p] of plansFor(M, rooms, 'chair', revision, { mutedAll: true, ...extra })) await n.edge.plan(p);
  };
  type Listed = { id: string; kind: string; siteId: string; paused: boolean; layer?: string };
  /** The floor's pictures that flow into the TV's box now (a link announces only what flows). */
  const flowingAtTv = async (): Promise<Listed[]> =>
    ((await tvEdge.streams(M)) as Listed[]).filter((s) => s.siteId === 'floor' && s.kind === 'video' && !s.paused);
  const onlyAtTv = (what: string, layer: 'full' | 'small'): Promise<string> =>
    until(
      what,
      async () => {
        const f = await flowingAtTv();
        return f.length === 1 && (f[0]!.layer ?? 'full') === layer ? f[0]!.id : null;
      },
      90_000,
    );

  await apply({ floorSiteId: 'floor' });
  const fullId = await onlyAtTv("only the floor's full picture crosses to the TV that shows it large", 'full');

  const { page } = await launchChromium(t, []);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${tvEdge.url}/media/v1/join?meeting=${M}&token=${encodeURIComponent(tvEdge.joinToken)}&view=kiosk`);
  const pictures = async (): Promise<Picture[]> =>
    (await page.evaluate('window.diemcauPictures ? window.diemcauPictures() : []')) as Picture[];
  const floorPicture = async (id: string): Promise<Picture | undefined> =>
    (await pictures()).find((p) => p.producerId === id);
  /** Waits until the picture of `id` is shown and decodes new frames of the given width. */
  const decodes = async (what: string, id: string, width: number): Promise<Picture> => {
    const before = (await floorPicture(id))?.frames ?? 0;
    return until(
      what,
      async () => {
        const p = await floorPicture(id);
        return p && p.shown && p.frames > before + 5 && p.width === width ? p : null;
      },
      60_000,
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; pictures ${JSON.stringify(await pictures())}; errors ${errors.join('; ')}`);
    });
  };

  // 1. The floor is large on the TV: only the full picture crosses the link, and is decoded.
  const large = await decodes('the floor large, in full (320 wide)', fullId, 320);
  t.equal(large.height, 240, 'the large picture is the full 320x240');
  t.equal((await flowingAtTv()).length, 1, 'its small picture does not cross');

  // 2. Roll call of the chair: the floor becomes a thumbnail and gets the small picture.
  await apply({ floorSiteId: 'floor', rollCallSiteId: 'chair' });
  const smallId = await onlyAtTv('then only its small picture crosses to the TV', 'small');
  const thumb = await decodes('the floor as a thumbnail, small (160 wide)', smallId, 160);
  t.equal(thumb.height, 120, 'the thumbnail is the 160x120 small picture');
  const heldFull = await floorPicture(fullId);
  await new Promise((r) => setTimeout(r, 1500));
  t.ok(
    (await floorPicture(fullId))!.frames - heldFull!.frames <= 2,
    'the full picture no longer reaches the TV while the floor is a thumbnail',
  );
  t.notOk((await floorPicture(fullId))!.shown, 'and is not shown');

  // 3. The roll call ends: the floor is large again, in full, starting with a new keyframe.
  const keyframesBefore = (await floorPicture(fullId))!.keyframes;
  await apply({ floorSiteId: 'floor' });
  // Held back long enough, the link closed the full picture: it may come back as a new stream.
  const fullAgain = await onlyAtTv('only the full picture crosses to the TV again', 'full');
  const again = await decodes('the floor large again, in full', fullAgain, 320);
  const before = fullAgain === fullId ? keyframesBefore : 0;
  t.ok(again.keyframes > before, `a keyframe of the full picture starts it again (${before} -> ${again.keyframes})`);
  t.same(errors, [], 'no page errors');
});
