// The mediasoup worker as scripts/setup.mjs builds it: mediasoup 3.19 from its
// npm package, linked against Debian's OpenSSL 3, libsrtp2 (through the shim in
// scripts/mediasoup-patches/srtp.h), libuv and usrsctp. Real workers, through
// the media adapter, as the edge uses them.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import t from 'tap';
import {
  MEDIASOUP_VERSION,
  MEDIASOUP_WORKER_BIN,
  MediaWorker,
  ingestRtpParameters,
  type StreamInfo,
} from '../../src/media/adapter/index.js';
import { until } from './helpers.js';

const LISTEN = { listenIp: '127.0.0.1' };
const INFO: StreamInfo = { siteId: 'site-a', originEdgeId: 'cA' };
let nextPorts = 45000 + (process.pid % 40) * 100;
const ports = (): { rtcMinPort: number; rtcMaxPort: number } => {
  const min = nextPorts;
  nextPorts += 50;
  return { rtcMinPort: min, rtcMaxPort: min + 49 };
};

/** RTP payload after the header, CSRCs and header extensions (the worker adds extensions). */
function rtpPayload(b: Buffer): Buffer | null {
  if (b.length < 12 || b[0]! >> 6 !== 2) return null;
  let off = 12 + 4 * (b[0]! & 0x0f);
  if ((b[0]! >> 4) & 1) off += 4 + 4 * b.readUInt16BE(off + 2);
  return b.length > off ? b.subarray(off) : null;
}

t.test('mediasoup 3.19 or later', async (t) => {
  const [major, minor] = MEDIASOUP_VERSION.split('.').map(Number);
  t.ok(major! > 3 || (major === 3 && minor! >= 19), `mediasoup ${MEDIASOUP_VERSION}`);
});

t.test("the worker links Debian's OpenSSL 3, not a bundled OpenSSL 1.1", async (t) => {
  const ldd = execFileSync('ldd', [MEDIASOUP_WORKER_BIN], { encoding: 'utf8' });
  t.match(ldd, /\blibssl\.so\.3 => \/\S+/, 'libssl.so.3 resolved');
  t.match(ldd, /\blibcrypto\.so\.3 => \/\S+/, 'libcrypto.so.3 resolved');
  for (const lib of ['libsrtp2.so.1', 'libuv.so.1', 'libusrsctp.so.2'])
    t.match(ldd, new RegExp(`\\b${lib.replace(/\./g, '\\.')} => /`), `${lib} resolved`);
  t.notMatch(ldd, /not found/, 'every library is found');
  // 3.8's worker carried OpenSSL 1.1.1 statically; its version string gave it away.
  t.notOk(fs.readFileSync(MEDIASOUP_WORKER_BIN).includes('OpenSSL 1.1.1'), 'no OpenSSL 1.1.1 inside the binary');
});

t.test("a running worker has Debian's libssl.so.3 loaded", async (t) => {
  const worker = await MediaWorker.start(ports());
  t.teardown(() => worker.close());
  const maps = fs.readFileSync(`/proc/${worker.pid}/maps`, 'utf8');
  const libssl = maps
    .split('\n')
    .map((l) => l.split(/\s+/)[5])
    .find((p) => p && /\/libssl\.so\.3$/.test(p));
  t.ok(libssl, `libssl.so.3 mapped (${libssl})`);
  // dpkg names the package that owns the file (Debian: libssl3).
  const owner = execFileSync('dpkg', ['-S', fs.realpathSync(libssl!)], { encoding: 'utf8' });
  t.match(owner, /^libssl3\S*:/, `owned by ${owner.trim()}`);
});

t.test('RTP crosses an SRTP pipe between two workers (AEAD_AES_256_GCM via libsrtp2)', async (t) => {
  const [wA, wB] = [await MediaWorker.start(ports()), await MediaWorker.start(ports())];
  t.teardown(() => {
    wA.close();
    wB.close();
  });
  const [rA, rB] = [await wA.createRouter(), await wB.createRouter()];

  const input = await rA.createPlainIn('127.0.0.1');
  const ssrc = 0x1234abcd;
  const stream = await input.produce({
    kind: 'audio',
    rtpParameters: ingestRtpParameters('audio', 'vp8', ssrc, 'worker-test'),
    info: INFO,
  });

  const [pA, pB] = [await rA.createPipe(LISTEN), await rB.createPipe(LISTEN)];
  t.equal(pA.srtp?.cryptoSuite, 'AEAD_AES_256_GCM', 'the link is encrypted with AES-256-GCM');
  await pA.connect({ ...pB.tuple, srtp: pB.srtp! });
  await pB.connect({ ...pA.tuple, srtp: pA.srtp! });
  const outlet = await pA.consume(stream.id);
  const piped = await pB.produce({ id: stream.id, kind: 'audio', rtpParameters: outlet.rtpParameters, info: INFO });

  const sink = dgram.createSocket('udp4');
  const rtcpSink = dgram.createSocket('udp4');
  t.teardown(() => {
    sink.close();
    rtcpSink.close();
  });
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => rtcpSink.bind(0, '127.0.0.1', () => r()));
  const received = new Set<string>();
  sink.on('message', (m) => {
    const p = rtpPayload(m);
    if (p) received.add(p.toString('hex'));
  });
  const out = await rB.createPlainOut('127.0.0.1');
  await out.connect({ ip: '127.0.0.1', port: sink.address().port, rtcpPort: rtcpSink.address().port });
  await out.consume(piped.id, rB.rtpCapabilities);

  // Opus-sized packets with payloads we can recognise on the far side.
  const sender = dgram.createSocket('udp4');
  t.teardown(() => sender.close());
  const payloads: string[] = [];
  let seq = 0;
  const send = (): void => {
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = 100;
    header.writeUInt16BE(seq, 2);
    header.writeUInt32BE(seq * 960, 4);
    header.writeUInt32BE(ssrc, 8);
    const payload = Buffer.alloc(80, seq & 0xff);
    payload.writeUInt32BE(seq, 0);
    payloads.push(payload.toString('hex'));
    seq++;
    sender.send(Buffer.concat([header, payload]), input.tuple.port, '127.0.0.1');
  };
  const got = await until(
    'RTP through the SRTP pipe',
    async () => {
      for (let i = 0; i < 5; i++) send();
      return received.size >= 20 ? received.size : null;
    },
    20_000,
  );
  t.ok(got >= 20, `${got} packets arrived`);
  t.ok(
    [...received].every((p) => payloads.includes(p)),
    'each with the payload that was sent, unchanged',
  );
  t.ok((await pB.stats()).bytesReceived > 0, 'the pipe counts what it decrypted');
});

t.test('a pipe given the wrong key passes nothing on', async (t) => {
  const [wA, wB] = [await MediaWorker.start(ports()), await MediaWorker.start(ports())];
  t.teardown(() => {
    wA.close();
    wB.close();
  });
  const [rA, rB] = [await wA.createRouter(), await wB.createRouter()];
  const input = await rA.createPlainIn('127.0.0.1');
  const ssrc = 0x2345bcde;
  const stream = await input.produce({
    kind: 'audio',
    rtpParameters: ingestRtpParameters('audio', 'vp8', ssrc, 'worker-test'),
    info: INFO,
  });
  const [pA, pB] = [await rA.createPipe(LISTEN), await rB.createPipe(LISTEN)];
  const key = Buffer.from(pA.srtp!.keyBase64, 'base64');
  key[0] = key[0]! ^ 0xff;
  await pA.connect({ ...pB.tuple, srtp: pB.srtp! });
  await pB.connect({ ...pA.tuple, srtp: { cryptoSuite: pA.srtp!.cryptoSuite, keyBase64: key.toString('base64') } });
  const outlet = await pA.consume(stream.id);
  const piped = await pB.produce({ id: stream.id, kind: 'audio', rtpParameters: outlet.rtpParameters, info: INFO });

  const sender = dgram.createSocket('udp4');
  t.teardown(() => sender.close());
  for (let i = 0; i < 50; i++) {
    const p = Buffer.alloc(92);
    p[0] = 0x80;
    p[1] = 100;
    p.writeUInt16BE(i, 2);
    p.writeUInt32BE(ssrc, 8);
    sender.send(p, input.tuple.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 10));
  }
  await until('packets left A', async () => ((await pA.stats()).bytesSent > 0 ? true : null), 10_000);
  t.ok((await pB.stats()).bytesReceived > 0, 'B received the encrypted packets');
  t.equal((await piped.stats()).packets, 0, 'and authenticated none of them');
});

t.test('browsers on one worker share one WebRTC port (a WebRtcServer)', async (t) => {
  const range = ports();
  const worker = await MediaWorker.start(range);
  t.teardown(() => worker.close());
  const [r1, r2] = [await worker.createRouter(), await worker.createRouter()];
  const transports = [await r1.createWebRtc(LISTEN), await r1.createWebRtc(LISTEN), await r2.createWebRtc(LISTEN)];
  type Candidate = { protocol: string; port: number; address: string };
  const candidates = transports.map((tr) => tr.params.iceCandidates as Candidate[]);
  for (const proto of ['udp', 'tcp']) {
    const used = new Set(candidates.map((cs) => cs.find((c) => c.protocol === proto)?.port));
    t.equal(used.size, 1, `every browser gets the same ${proto} port`);
    const [port] = [...used];
    t.ok(port! >= range.rtcMinPort && port! <= range.rtcMaxPort, `${proto} port ${port} is in the edge's RTC range`);
  }
  t.same(
    transports.map((tr) => tr.state.dtlsState),
    ['new', 'new', 'new'],
    'no DTLS before a browser connects',
  );
  t.equal((await r1.dump()).webRtc.length, 2, "the router's dump lists its browsers' transports");
  transports[0]!.close();
  t.equal((await r1.dump()).webRtc.length, 1, 'and forgets a closed one');
  const again = await r2.createWebRtc(LISTEN);
  t.equal(
    (again.params.iceCandidates as Candidate[])[0]!.port,
    candidates[0]![0]!.port,
    'the port outlives the transports that used it',
  );
});
