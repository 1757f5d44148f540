// SDP for a plain RTP receiver (ffmpeg, a hardware decoder) of one stream that
// the edge sends out through a PlainOut. Pure; used by the TV output and tests.
import { firstCodec, type RtpParameters } from './adapter/index.js';

export function receiverSdp(kind: 'audio' | 'video', rtpParameters: RtpParameters, ip: string, port: number): string {
  const c = firstCodec(rtpParameters);
  const rtpmap = `${c.name}/${c.clockRate}${c.channels && c.channels > 1 ? `/${c.channels}` : ''}`;
  return [
    'v=0',
    `o=- 0 0 IN IP4 ${ip}`,
    's=diemcau',
    `c=IN IP4 ${ip}`,
    't=0 0',
    `m=${kind} ${port} RTP/AVP ${c.payloadType}`,
    `a=rtpmap:${c.payloadType} ${rtpmap}`,
    ...(c.fmtp ? [`a=fmtp:${c.payloadType} ${c.fmtp}`] : []),
    'a=recvonly',
    '',
  ].join('\n');
}
