// The join page's script (browser; bundled by esbuild with mediasoup-client).
// Joins the meeting named in the URL on this edge, publishes the camera and
// microphone, and shows every other stream of the meeting. State is kept on
// window.diemcau for the kiosk shell and tests.
import { Device } from 'mediasoup-client';

const q = new URLSearchParams(location.search);
const meetingId = q.get('meeting') ?? '';
const token = q.get('token') ?? '';
// The TV: receives only (the room's camera enters through ffmpeg) and follows the layout.
const kiosk = q.get('view') === 'kiosk';
// The TV: the large pictures fill the screen, thumbnails in a row below (page.ts).
if (kiosk) document.body.classList.add('kiosk');
const base = `/media/v1/meetings/${encodeURIComponent(meetingId)}`;
const state = { joined: false, error: null, peerId: null, produced: [], consumed: {}, siteId: null };
window.diemcau = state;

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function wire(transport, peerPath) {
  transport.on('connect', ({ dtlsParameters }, ok, fail) => {
    api('POST', `${peerPath}/transports/${transport.id}/connect`, { dtlsParameters }).then(() => ok(), fail);
  });
}

async function join() {
  const { peerId, rtpCapabilities } = await api('POST', '/peers', {});
  state.peerId = peerId;
  const peerPath = `/peers/${peerId}`;
  // Say goodbye when the tab goes; the edge's transport watch is the backstop.
  addEventListener('pagehide', () => {
    fetch(base + peerPath, { method: 'DELETE', keepalive: true, headers: { authorization: `Bearer ${token}` } }).catch(() => {});
  });
  const device = new Device();
  await device.load({ routerRtpCapabilities: rtpCapabilities });

  const send = device.createSendTransport(await api('POST', `${peerPath}/transports`, {}));
  wire(send, peerPath);
  send.on('produce', ({ kind, rtpParameters }, ok, fail) => {
    api('POST', `${peerPath}/produce`, { transportId: send.id, kind, rtpParameters }).then(({ id }) => ok({ id }), fail);
  });
  if (!kiosk) {
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240, frameRate: 15 } });
    for (const track of media.getTracks()) {
      const producer = await send.produce({ track });
      state.produced.push(producer.id);
    }
    document.getElementById('self').srcObject = media;
  }

  const recv = device.createRecvTransport(await api('POST', `${peerPath}/transports`, {}));
  wire(recv, peerPath);
  const grid = document.getElementById('grid');
  const consumeNew = async () => {
    const streams = await api('GET', `${peerPath}/streams`);
    const self = kiosk ? (await api('GET', `${peerPath}/layout`)).self : null;
    for (const s of streams) {
      if (state.produced.includes(s.id) || state.consumed[s.id] || s.siteId === self) continue;
      state.consumed[s.id] = { pending: true };
      const c = await api('POST', `${peerPath}/consume`, { transportId: recv.id, producerId: s.id, rtpCapabilities: device.rtpCapabilities });
      const consumer = await recv.consume({ id: c.id, producerId: c.producerId, kind: c.kind, rtpParameters: c.rtpParameters });
      const el = document.createElement(c.kind === 'video' ? 'video' : 'audio');
      el.autoplay = true;
      // The TV plays the meeting's sound; a laptop in the same room must not (echo).
      el.muted = !kiosk;
      el.playsInline = true;
      el.dataset.siteId = c.siteId;
      el.srcObject = new MediaStream([consumer.track]);
      grid.appendChild(el);
      await api('POST', `${peerPath}/consumers/${c.id}/resume`, {});
      state.consumed[s.id] = { kind: c.kind, siteId: c.siteId, consumer };
    }
  };
  const applyLayout = async () => {
    const layout = await api('GET', `${peerPath}/layout`);
    state.layout = layout;
    for (const el of grid.querySelectorAll('video')) {
      const site = el.dataset.siteId;
      el.className = layout.large.includes(site) ? 'large' : layout.small.includes(site) ? 'small' : 'hidden';
    }
  };
  state.joined = true;
  for (;;) {
    await consumeNew().catch((err) => { state.error = String(err); });
    if (kiosk) await applyLayout().catch((err) => { state.error = String(err); });
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Frames decoded so far per site, for the kiosk's health check and tests. */
window.diemcauFrames = async () => {
  const out = {};
  for (const c of Object.values(state.consumed)) {
    if (!c.consumer || c.kind !== 'video') continue;
    const stats = await c.consumer.getStats();
    stats.forEach((r) => { if (r.type === 'inbound-rtp') out[c.siteId] = (out[c.siteId] ?? 0) + (r.framesDecoded ?? 0); });
  }
  return out;
};

join().catch((err) => { state.error = String(err && err.stack || err); });
