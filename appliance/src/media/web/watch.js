// The chair's roll-call picture (browser; bundled into the join page's script
// by esbuild): the join page opened with a `monitor` link, framed by the
// chair's console during a roll call. The edge lets such a peer receive the
// called site's picture only (../monitor.ts); this follows the roll call.
import { Device } from 'mediasoup-client';

/**
 * Follows this edge's roll call: receives the called site's picture (the edge
 * hands a monitor the small layer where it has one), and when the roll call
 * moves on, closes that consumer before taking the next. Tells the console
 * framing it what it shows twice a second (it carries no secret: the site,
 * a status and a frame count), so the console can say when a room sends
 * nothing and notice when this edge stops answering.
 */
export async function watch({ api, base, token, state, wire, $ }) {
  document.body.classList.add('monitor');
  const video = $('watch');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  state.watch = { siteId: null, producerId: null, status: 'joining', frames: 0, reason: null };
  const tell = () => window.parent?.postMessage({ diemcau: 'roll-call-picture', ...state.watch }, '*');
  let peerPath = null;
  let current = null;
  const step = async () => {
    const layout = await api('GET', `${peerPath}/layout`);
    const called = layout.rollCallSiteId;
    const want = called === null ? undefined : layout.show?.[called];
    if (current && current.producerId !== want) {
      const old = current;
      current = null;
      old.consumer.close();
      video.srcObject = null;
      // The edge may have closed it already as the roll call moved on.
      await api('DELETE', `${peerPath}/consumers/${old.id}`).catch(() => {});
    }
    if (!current && want !== undefined) {
      const c = await api('POST', `${peerPath}/consume`, {
        transportId: recv.id,
        producerId: want,
        rtpCapabilities: device.rtpCapabilities,
      });
      const consumer = await recv.consume({
        id: c.id,
        producerId: c.producerId,
        kind: c.kind,
        rtpParameters: c.rtpParameters,
      });
      current = { id: c.id, producerId: c.producerId, siteId: c.siteId, consumer };
      video.srcObject = new MediaStream([consumer.track]);
      video.play?.().catch(() => {});
      await api('POST', `${peerPath}/consumers/${c.id}/resume`, {});
    }
    let frames = 0;
    if (current)
      (await current.consumer.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp') frames += r.framesDecoded ?? 0;
      });
    video.hidden = current === null;
    state.watch = {
      siteId: called,
      producerId: current?.producerId ?? null,
      status: called === null ? 'no-roll-call' : current ? 'receiving' : 'not-sending',
      frames,
      reason: null,
    };
  };
  let device;
  let recv;
  try {
    const { peerId, rtpCapabilities } = await api('POST', '/peers', {});
    state.peerId = peerId;
    peerPath = `/peers/${peerId}`;
    addEventListener('pagehide', () => {
      fetch(base + peerPath, {
        method: 'DELETE',
        keepalive: true,
        headers: { authorization: `Bearer ${token}` },
      }).catch(() => {});
    });
    device = new Device();
    await device.load({ routerRtpCapabilities: rtpCapabilities });
    recv = device.createRecvTransport(await api('POST', `${peerPath}/transports`, {}));
    wire(recv, peerPath);
    state.joined = true;
  } catch (err) {
    // A refused link is said as such; anything else (a full edge, no answer) reads as trouble reaching it.
    const refused = typeof err?.reason === 'string' && err.reason.startsWith('join-link');
    state.watch = { ...state.watch, status: refused ? 'refused' : 'error', reason: err?.reason ?? null };
    state.error = String(err);
    tell();
    throw err;
  }
  for (;;) {
    await step().catch((err) => {
      state.error = String(err);
      state.watch = {
        ...state.watch,
        status: err?.reason?.startsWith('join-link') ? 'refused' : 'error',
        reason: err?.reason ?? null,
      };
    });
    tell();
    await sleep(500);
  }
}
