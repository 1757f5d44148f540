// The camera's RTCP relay: what it recognises and what it drops, on real sockets.
import dgram from 'node:dgram';
import { pino } from 'pino';
import t from 'tap';
import { asksForKeyframe, emptyReceiverReport, isRtcp, RtcpRelay } from '../../src/media/rtp/rtcp-relay.js';
import { until } from './helpers.js';

/** A receiver report (201) followed by a feedback message (206) of the given FMT. */
const compound = (fmt: number): Buffer =>
  Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1, 0x80 | fmt, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);

t.test('PLI and FIR are keyframe requests; other RTCP and RTP are not', async (t) => {
  t.ok(asksForKeyframe(compound(1)), 'PLI inside a compound packet');
  t.ok(asksForKeyframe(compound(4)), 'FIR');
  t.notOk(asksForKeyframe(compound(15)), 'REMB (FMT 15) asks for no keyframe');
  t.ok(isRtcp(compound(1)));
  t.notOk(isRtcp(Buffer.from([0x80, 102, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])), 'RTP (payload type 102)');
  t.notOk(isRtcp(Buffer.from('hello world')), 'not RTP at all');
});

t.test('reports go to the transport, its feedback to the sender, junk nowhere', async (t) => {
  const bind = async (): Promise<dgram.Socket> => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    t.teardown(() => s.close());
    return s;
  };
  const transport = await bind();
  const atTransport: Buffer[] = [];
  transport.on('message', (m) => atTransport.push(m));
  const relay = await RtcpRelay.open(
    { ip: '127.0.0.1', port: transport.address().port },
    0xabcdef,
    pino({ level: 'silent' }),
  );
  t.teardown(() => relay.close());
  const sender = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sender.bind(relay.senderPort, '127.0.0.1', resolve));
  t.teardown(() => sender.close());
  await until(
    'the relay speaks first, so the transport knows where to send feedback',
    async () => atTransport.length === 1,
  );
  t.same(atTransport.shift(), emptyReceiverReport(0xabcdef));
  const atSender: Buffer[] = [];
  sender.on('message', (m) => atSender.push(m));

  sender.send(Buffer.from('not rtcp'), relay.port, '127.0.0.1');
  sender.send(compound(15), relay.port, '127.0.0.1');
  await until('the report reaches the transport', async () => atTransport.length === 1);
  transport.send(compound(1), relay.port, '127.0.0.1');
  await until('the PLI reaches the sender', async () => atSender.length === 1);
  t.same(atTransport[0], compound(15));
  t.same(atSender[0], compound(1));
  t.same([relay.toTransport, relay.toSender, relay.keyframeRequests, relay.dropped], [1, 1, 1, 1], 'counted');
});
