// No echo: the box's echo canceller (PipeWire's echo-cancel module with the
// WebRTC canceller, configured by the image) in a simulated room, and the
// edge's choice of microphone. The room (echo-room/room.ts) plays the far end
// through the canceller, a modelled room (delay, impulse response) and into
// the microphone, then the room's own voice alone; the far end must be at
// least 20 dB lower in what the room sends than in what its microphone heard,
// and the room's voice must come through.
import t from 'tap';
import {
  chooseMicrophone,
  listPipewireNodes,
  pipewireNodeNames,
  type EchoCancelSetting,
} from '../../src/media/capture/echo-source.js';
import { captureConfig, loadEdgeConfig } from '../../src/media/config.js';
import { missingCanceller, recordRoom, type RoomRecording } from './echo-room/room.js';
import { FAR_SECONDS, NEAR_SECONDS, ROOM, echoFigures, type EchoFigures } from './echo-room/signals.js';

const SETTING: EchoCancelSetting = { source: 'diemcau-aec-source', remote: '/run/x/pipewire-0', pwDumpBin: 'pw-dump' };

t.test('the edge takes the echo-cancelled source only when the server has it', async (t) => {
  const dump = JSON.stringify([
    { id: 0, type: 'PipeWire:Interface:Core', info: {} },
    { id: 40, type: 'PipeWire:Interface:Node', info: { props: { 'node.name': 'alsa_input.usb-mic' } } },
    { id: 41, type: 'PipeWire:Interface:Node', info: { props: { 'node.name': 'diemcau-aec-source' } } },
    { id: 42, type: 'PipeWire:Interface:Port', info: { props: { 'node.name': 'not-a-node' } } },
  ]);
  t.same(pipewireNodeNames(dump), ['alsa_input.usb-mic', 'diemcau-aec-source']);
  t.same(pipewireNodeNames('not json'), [], 'garbage lists nothing');
  t.same(pipewireNodeNames('{"a":1}'), [], 'an object lists nothing');

  const found = chooseMicrophone('hw:1', SETTING, { nodes: pipewireNodeNames(dump) });
  t.same(found, {
    device: 'pipewire:SERVER=/run/x/pipewire-0,NODE=diemcau-aec-source',
    echoCancelled: true,
    reason: 'diemcau-aec-source on /run/x/pipewire-0',
  });
  const noNode = chooseMicrophone('hw:1', SETTING, { nodes: ['alsa_input.usb-mic'] });
  t.equal(noNode.device, 'hw:1', 'no canceller node: the raw microphone');
  t.match(noNode.reason, /has no node diemcau-aec-source/);
  const noServer = chooseMicrophone('hw:1', SETTING, { error: "can't connect: Host is down" });
  t.equal(noServer.device, 'hw:1', 'no server: the raw microphone');
  t.match(noServer.reason, /no audio server at \/run\/x\/pipewire-0: can't connect/);
  t.same(chooseMicrophone('hw:1', null, { nodes: [] }), {
    device: 'hw:1',
    echoCancelled: false,
    reason: 'echo cancellation is off',
  });
});

t.test('a missing tool or server is a reason, never a crash', async (t) => {
  const noTool = await listPipewireNodes({ ...SETTING, pwDumpBin: 'no-such-pw-dump' });
  t.same(noTool, { error: 'no-such-pw-dump is not installed' });
  if (missingCanceller()) return;
  const noServer = await listPipewireNodes({ ...SETTING, remote: '/nonexistent/pipewire-0' });
  t.ok('error' in noServer, 'a server that is not running gives an error');
});

t.test('settings: auto on a real room, nothing on a simulated one or when off', async (t) => {
  const base = { DIEMCAU_EDGE_ADMIN_TOKEN: 'a'.repeat(32), DIEMCAU_EDGE_ID: 'e1' };
  const real = captureConfig(loadEdgeConfig({ ...base, DIEMCAU_EDGE_HARDWARE: 'real' }));
  t.same(real?.echoCancel, {
    source: 'diemcau-aec-source',
    remote: '/run/diemcau-audio/pipewire-0',
    pwDumpBin: 'pw-dump',
  });
  const off = captureConfig(
    loadEdgeConfig({ ...base, DIEMCAU_EDGE_HARDWARE: 'real', DIEMCAU_EDGE_ECHO_CANCEL: 'off' }),
  );
  t.equal(off?.echoCancel, null);
  const sim = captureConfig(loadEdgeConfig({ ...base, DIEMCAU_EDGE_HARDWARE: 'simulated' }));
  t.equal(sim?.echoCancel, null);
  t.throws(
    () => loadEdgeConfig({ ...base, DIEMCAU_EDGE_PIPEWIRE_REMOTE: '/run/a,NODE=b' }),
    /DIEMCAU_EDGE_PIPEWIRE_REMOTE/,
    'a remote that would break the ALSA device name is refused',
  );
});

/** A loaded machine can make the graph drop sound (the microphone then hears a longer stretch): such a take is not measured. */
const clean = (f: EchoFigures): boolean => f.heard.far < FAR_SECONDS + 1 && f.heard.near < NEAR_SECONDS + 1;

// Skipped only where the canceller's packages are absent (CI installs them).
const missing = missingCanceller();
t.test(
  'the far end is at least 20 dB lower in what the room sends, the room is kept',
  { skip: missing ? `the box's echo canceller cannot run here: ${missing}` : false },
  async (t) => {
    let rec: RoomRecording | null = null;
    let f: EchoFigures | null = null;
    const takes: string[] = [];
    for (let take = 0; take < 3 && !(f && clean(f)); take++) {
      rec = await recordRoom(ROOM);
      f = echoFigures(rec.far, rec.near);
      takes.push(`heard far ${f.heard.far.toFixed(2)} s, room ${f.heard.near.toFixed(2)} s`);
    }
    if (!rec || !f) throw new Error('no take');
    t.ok(clean(f), `the graph kept the sound whole (takes: ${takes.join('; ')})`);
    t.ok(rec.choice.echoCancelled, `the edge takes the echo-cancelled source: ${rec.choice.reason}`);
    t.equal(rec.defaultSink, 'diemcau-aec-sink', "players (the kiosk's Chromium) play through the canceller");
    t.ok(f.farDb >= 20, `far end ${f.farDb.toFixed(1)} dB lower than without the canceller (>= 20)`, { figures: f });
    t.ok(Math.abs(f.nearDb) <= 3, `the room's voice kept: ${f.nearDb.toFixed(1)} dB (within 3)`, { figures: f });
    t.ok(
      rec.edgeCaptureDbfs > -40,
      `the edge's own microphone input hears the room through the canceller (${rec.edgeCaptureDbfs.toFixed(1)} dBFS)`,
    );
  },
);
