// The join page's script (browser; bundled by esbuild with mediasoup-client).
// A laptop, phone or tablet opens it with a join link the fleet signed
// (?link=…: the meeting, the site, the role, the expiry); the TV with its own
// token (?meeting=…&token=…&view=kiosk). It joins the meeting on this edge,
// publishes the camera and microphone (a participant), shows the featured
// sites laid out like the TV, and lets a participant ask to speak. The chair's
// console frames it with a monitor link during a roll call: then it shows the
// called room's picture only (watch() below). State is kept on window.diemcau
// for the kiosk shell and tests.
import { Device } from 'mediasoup-client';
import { watch } from './watch.js';

const q = new URLSearchParams(location.search);
const link = q.get('link') ?? '';
/** What the link says it is for (the edge checks it; this only names the meeting to call). */
function claimsOf(l) {
  try {
    const b64 = l.split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    const json = new window.TextDecoder().decode(Uint8Array.from(window.atob(b64), (ch) => ch.charCodeAt(0)));
    return JSON.parse(json);
  } catch {
    return null;
  }
}
const claims = link ? claimsOf(link) : null;
const meetingId = claims?.meetingId ?? q.get('meeting') ?? '';
const token = link || (q.get('token') ?? '');
// The TV: receives only (the room's camera enters through ffmpeg) and follows the layout.
const kiosk = q.get('view') === 'kiosk';
// The chair's console during a roll call: the called room's picture, nothing else.
const monitor = claims?.role === 'monitor';
// A guest by join link: the TV's frame, plus its own picture and controls.
const guest = !kiosk && link !== '' && !monitor;
const listener = claims?.role === 'listener';
// The TV: the large pictures fill the screen, thumbnails in a row below (page.ts).
if (kiosk || guest) document.body.classList.add('kiosk');
if (guest) document.body.classList.add('guest');
const framed = kiosk || guest;
const base = `/media/v1/meetings/${encodeURIComponent(meetingId)}`;
const state = {
  joined: false,
  error: null,
  peerId: null,
  participantId: null,
  produced: [],
  consumed: {},
  siteId: null,
  speak: null,
  sound: false,
  micClosed: false,
};
window.diemcau = state;

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) {
    const err = new Error(`${method} ${path}: ${res.status} ${text}`);
    try {
      err.reason = JSON.parse(text).reason;
    } catch {
      /* not the edge's error body */
    }
    throw err;
  }
  return text ? JSON.parse(text) : null;
}

/** Why the edge refused, in words for the person holding the phone. */
const REFUSED = {
  'join-link-expired': ['Đường dẫn tham gia đã hết hạn.', 'This join link has expired.'],
  'join-link-signature': [
    'Đường dẫn tham gia không hợp lệ (không do hệ thống cấp hoặc đã bị sửa).',
    'This join link is not valid (not issued by the fleet, or altered).',
  ],
  'join-link-malformed': ['Đường dẫn tham gia không đầy đủ.', 'This join link is incomplete.'],
  'join-link-other-site': [
    'Đường dẫn này dành cho điểm cầu khác.',
    'This link is for another site: open it on that site’s address.',
  ],
  'join-link-other-meeting': ['Đường dẫn này dành cho cuộc họp khác.', 'This link is for another meeting.'],
  'join-link-meeting-closed': [
    'Cuộc họp đã kết thúc hoặc chưa bắt đầu.',
    'The meeting has ended or has not started yet.',
  ],
  'join-link-no-key': ['Điểm cầu chưa sẵn sàng, xin thử lại sau.', 'The site is not ready yet; try again later.'],
  'join-link-revoked': [
    'Đường dẫn tham gia này đã bị thu hồi. Xin liên hệ người tổ chức cuộc họp.',
    'This join link has been revoked. Ask the meeting’s organiser for a new one.',
  ],
};
/**
 * Refusals after which this page is out of the meeting for good: the fleet
 * revoked its link, or the meeting closed. (A link that merely expires keeps a
 * guest's pictures flowing: the edge closes only a monitor at its expiry.)
 */
const leaveOn = new Set(['join-link-revoked', 'join-link-meeting-closed']);
function showRefusal(err) {
  const words = REFUSED[err?.reason] ?? ['Không vào được cuộc họp.', 'Could not join the meeting.'];
  state.refusal = err?.reason ?? null;
  $('refused-vi').textContent = words[0];
  $('refused-en').textContent = words[1];
  $('refused').hidden = false;
}

function wire(transport, peerPath) {
  transport.on('connect', ({ dtlsParameters }, ok, fail) => {
    api('POST', `${peerPath}/transports/${transport.id}/connect`, { dtlsParameters }).then(() => ok(), fail);
  });
}

async function join() {
  if (monitor) return watch({ api, base, token, state, wire, $ });
  if (guest && !claims) throw Object.assign(new Error('bad link'), { reason: 'join-link-malformed' });
  // The edge picks each camera's full or small picture by how this page shows it (layers.ts).
  const { peerId, participantId, rtpCapabilities } = await api('POST', `/peers?view=${framed ? 'kiosk' : 'grid'}`, {});
  state.peerId = peerId;
  state.participantId = participantId;
  const peerPath = `/peers/${peerId}`;
  // Say goodbye when the tab goes; the edge's transport watch is the backstop.
  addEventListener('pagehide', () => {
    fetch(base + peerPath, { method: 'DELETE', keepalive: true, headers: { authorization: `Bearer ${token}` } }).catch(
      () => {},
    );
  });
  const device = new Device();
  await device.load({ routerRtpCapabilities: rtpCapabilities });

  const send = device.createSendTransport(await api('POST', `${peerPath}/transports`, {}));
  wire(send, peerPath);
  send.on('produce', ({ kind, rtpParameters }, ok, fail) => {
    api('POST', `${peerPath}/produce`, { transportId: send.id, kind, rtpParameters }).then(
      ({ id }) => ok({ id }),
      fail,
    );
  });
  let media = null;
  if (!kiosk && !listener) {
    media = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: 320, height: 240, frameRate: 15 },
    });
    for (const track of media.getTracks()) {
      const producer = await send.produce({ track });
      state.produced.push(producer.id);
    }
    document.getElementById('self').srcObject = media;
  }
  if (guest) controls(peerPath);

  const recv = device.createRecvTransport(await api('POST', `${peerPath}/transports`, {}));
  wire(recv, peerPath);
  const grid = document.getElementById('grid');
  const consumeNew = async () => {
    const streams = await api('GET', `${peerPath}/streams`);
    const self = kiosk ? (await api('GET', `${peerPath}/layout`)).self : null;
    for (const s of streams) {
      if (state.produced.includes(s.id) || state.consumed[s.id] || s.siteId === self) continue;
      state.consumed[s.id] = { pending: true };
      const c = await api('POST', `${peerPath}/consume`, {
        transportId: recv.id,
        producerId: s.id,
        rtpCapabilities: device.rtpCapabilities,
      });
      const consumer = await recv.consume({
        id: c.id,
        producerId: c.producerId,
        kind: c.kind,
        rtpParameters: c.rtpParameters,
      });
      const el = document.createElement(c.kind === 'video' ? 'video' : 'audio');
      // The TV plays the meeting's sound; a laptop in the same room must not (echo),
      // so a guest hears it only once it turns the sound on.
      // Pictures carry no sound, so they are muted everywhere and always allowed to play.
      el.muted = c.kind === 'video' || !(kiosk || state.sound);
      // Sound starts through play() alone, so a browser that refuses it is noticed (play() below).
      el.autoplay = el.muted;
      el.playsInline = true;
      el.dataset.siteId = c.siteId;
      el.dataset.producerId = c.producerId;
      el.srcObject = new MediaStream([consumer.track]);
      // A camera may come in two pictures (full and small): one element each, the edge's pick shown.
      if (c.kind === 'video') el.hidden = state.layout?.show?.[c.siteId] !== c.producerId;
      if (framed && c.kind === 'video') tv.add(c.siteId, el);
      else grid.appendChild(el);
      play(el);
      await api('POST', `${peerPath}/consumers/${c.id}/resume`, {});
      state.consumed[s.id] = { kind: c.kind, siteId: c.siteId, consumer, el };
    }
  };
  const applyLayout = async () => {
    const layout = await api('GET', `${peerPath}/layout`);
    state.layout = layout;
    for (const c of Object.values(state.consumed))
      if (c.kind === 'video' && c.el) c.el.hidden = layout.show?.[c.siteId] !== c.consumer.producerId;
    if (framed) tv.show(layout);
    if (guest) showSpeak(layout);
    if (!kiosk) showMic(layout.micClosed === true);
  };
  state.joined = true;
  // The edge refused the link mid-meeting (the fleet revoked it, or the
  // meeting ended; the edge has closed this browser's transports): stop the
  // camera and microphone, close what is left here, and say why.
  let over = false;
  const failed = (err) => {
    state.error = String(err);
    if (over || !leaveOn.has(err?.reason)) return;
    over = true;
    state.joined = false;
    for (const track of media?.getTracks() ?? []) track.stop();
    send.close();
    recv.close();
    $('controls').hidden = true;
    showRefusal(err);
  };
  // The layout is read four times a second: a new speaker's picture (or the
  // full picture the edge lets through when a thumbnail becomes large) shows
  // within a quarter of a second of reaching this page.
  void (async () => {
    while (!over) {
      await applyLayout().catch(failed);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  while (!over) {
    await consumeNew().catch(failed);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---- a guest's controls: sound and asking to speak ------------------------------

function controls(peerPath) {
  $('controls').hidden = false;
  $('sound').addEventListener('click', () => {
    state.sound = !state.sound;
    $('sound').textContent = state.sound ? 'Tắt âm thanh' : 'Bật âm thanh';
    $('sound').setAttribute('aria-pressed', String(state.sound));
    for (const el of document.querySelectorAll('audio')) {
      el.muted = !state.sound;
      if (state.sound) play(el);
    }
  });
  if (listener) return;
  $('ask').hidden = false;
  $('ask').addEventListener('click', () => {
    $('ask').disabled = true;
    api('POST', `${peerPath}/speak`, {}).then(
      () => {
        state.speak = 'waiting';
        $('speak').textContent = 'Đã xin phát biểu, chờ chủ trì cho phép';
      },
      (err) => {
        $('ask').disabled = false;
        state.error = String(err);
      },
    );
  });
}

/** The chair granted this participant's request: it holds the floor with its site. */
function showSpeak(layout) {
  const floor = layout.floorParticipantId != null && layout.floorParticipantId === state.participantId;
  if (floor) state.speak = 'floor';
  else if (state.speak === 'floor') state.speak = null;
  $('speak').textContent =
    state.speak === 'floor' ? 'Bạn đang được phát biểu' : state.speak === 'waiting' ? $('speak').textContent : '';
  $('ask').disabled = state.speak !== null;
  document.body.classList.toggle('floor', floor);
}

/** The chair closed (or opened again) this browser's microphone: the edge pauses its sound where it enters. */
function showMic(closed) {
  state.micClosed = closed;
  $('mic').hidden = !closed;
}

// ---- the TV ------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

/** A browser that blocks autoplay (no click on this screen yet) gets a message, and a click or key plays everything. */
const blocked = new Set();
function play(el) {
  el.play?.().then(
    () => unblock(el),
    (err) => {
      if (err?.name !== 'NotAllowedError') return;
      blocked.add(el);
      state.blocked = true;
      $('blocked').hidden = false;
    },
  );
}
function unblock(el) {
  blocked.delete(el);
  if (blocked.size === 0) {
    state.blocked = false;
    $('blocked').hidden = true;
  }
}
const retry = () => {
  for (const el of [...blocked])
    el.play().then(
      () => unblock(el),
      () => {},
    );
};
addEventListener('pointerdown', retry);
addEventListener('keydown', retry);

/** Thumbnails in the row below the large pictures; past this many, the last place says how many more. */
const MAX_SMALL = 6;
const TAG = { chair: 'Chủ trì', floor: 'Được phát biểu', speaking: 'Đang nói', rollCall: 'Điểm danh' };

const tv = {
  tiles: new Map(),
  add(siteId, video) {
    const had = this.tiles.get(siteId);
    if (had) {
      had.insertBefore(video, had.querySelector('figcaption'));
      return;
    }
    const fig = document.createElement('figure');
    fig.className = 'tile';
    fig.dataset.siteId = siteId;
    const cap = document.createElement('figcaption');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = siteId;
    const tag = document.createElement('span');
    tag.className = 'tag';
    cap.append(name, tag);
    fig.append(video, cap);
    $('hold').appendChild(fig);
    this.tiles.set(siteId, fig);
  },
  show(l) {
    const names = l.names ?? {};
    const nameOf = (id) => names[id] ?? id;
    $('title').textContent = l.title ?? '';
    const selfMuted = l.mutedAll && l.self !== null && l.self !== l.chairSiteId && l.self !== l.floorSiteId;
    $('notice').textContent =
      l.rollCallSiteId !== null
        ? `Điểm danh: ${nameOf(l.rollCallSiteId)}`
        : selfMuted
          ? 'Micrô phòng này đang tắt theo yêu cầu của chủ trì'
          : l.mutedAll
            ? 'Chủ trì đã tắt micrô các điểm cầu'
            : '';
    const large = l.large.filter((id) => this.tiles.has(id));
    const small = l.small.filter((id) => this.tiles.has(id));
    const stage = $('stage');
    const strip = $('strip');
    const hold = $('hold');
    stage.dataset.n = String(large.length);
    for (const [id, fig] of this.tiles) {
      if (!large.includes(id) && !small.includes(id) && fig.parentElement !== hold) hold.appendChild(fig);
      fig.querySelector('.name').textContent = nameOf(id);
      fig.querySelector('.tag').textContent =
        id === l.rollCallSiteId
          ? TAG.rollCall
          : id === l.floorSiteId || id === l.floorParticipantId
            ? TAG.floor
            : id === l.speakerSiteId
              ? TAG.speaking
              : id === l.chairSiteId
                ? TAG.chair
                : '';
      fig.classList.toggle('speaking', id === l.speakerSiteId || id === l.floorSiteId || id === l.floorParticipantId);
    }
    // Appending moves a tile in one task, so its video keeps playing.
    if (large.length === 0) {
      if (!$('wait')) {
        const w = document.createElement('div');
        w.id = 'wait';
        w.textContent = 'Đang chờ hình từ các điểm cầu…';
        stage.appendChild(w);
      }
    } else $('wait')?.remove();
    // Read four times a second: tiles already in place are left alone.
    const inOrder = (parent, ids) => {
      const cur = [...parent.querySelectorAll(':scope > .tile')].map((f) => f.dataset.siteId);
      return cur.length === ids.length && cur.every((x, i) => x === ids[i]);
    };
    if (!inOrder(stage, large)) for (const id of large) stage.appendChild(this.tiles.get(id));
    const shown = small.length > MAX_SMALL ? small.slice(0, MAX_SMALL - 1) : small;
    for (const id of small.slice(shown.length)) hold.appendChild(this.tiles.get(id));
    strip.querySelector('.more')?.remove();
    if (!inOrder(strip, shown)) for (const id of shown) strip.appendChild(this.tiles.get(id));
    if (shown.length < small.length) {
      const more = document.createElement('div');
      more.className = 'more';
      more.textContent = `+${small.length - shown.length} điểm cầu`;
      strip.appendChild(more);
    }
  },
};

/** Frames decoded so far per site, for the kiosk's health check and tests. */
window.diemcauFrames = async () => {
  const out = {};
  for (const c of Object.values(state.consumed)) {
    if (!c.consumer || c.kind !== 'video') continue;
    const stats = await c.consumer.getStats();
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp') out[c.siteId] = (out[c.siteId] ?? 0) + (r.framesDecoded ?? 0);
    });
  }
  return out;
};

/** Per video stream received: its site, whether it is shown, frames decoded, keyframes and the last frame's size. */
window.diemcauPictures = async () => {
  const out = [];
  for (const c of Object.values(state.consumed)) {
    if (!c.consumer || c.kind !== 'video') continue;
    const stats = await c.consumer.getStats();
    const p = {
      siteId: c.siteId,
      producerId: c.consumer.producerId,
      shown: !c.el.hidden,
      frames: 0,
      keyframes: 0,
      width: 0,
      height: 0,
    };
    stats.forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      p.frames += r.framesDecoded ?? 0;
      p.keyframes += r.keyFramesDecoded ?? 0;
      p.width = r.frameWidth ?? p.width;
      p.height = r.frameHeight ?? p.height;
    });
    out.push(p);
  }
  return out;
};

join().catch((err) => {
  state.error = String((err && err.stack) || err);
  if (guest || monitor) showRefusal(err);
  if (kiosk) {
    $('title').textContent = 'Không vào được cuộc họp trên thiết bị này';
    $('notice').textContent = 'Đang chờ thiết bị thử lại…';
  }
});
