// A plain RTP receiver for tests and the bench: asks an edge for a tap of one
// stream, points ffmpeg at the tap's SDP and decodes frames. For the simulated
// pattern it reports the mean colour of the band that identifies the sender.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bandHeight } from '../../src/media/ffmpeg/args.js';
import { freeUdpPair, tempDir, type EdgeProc } from './helpers.js';

export interface Decoded {
  frames: number;
  /** Mean RGB of the bottom band of the last decoded frame. */
  band: [number, number, number];
  sdp: string;
}

export async function decodeTap(
  edge: EdgeProc,
  meetingId: string,
  producerId: string,
  opts: { width: number; height: number; frames: number },
): Promise<Decoded> {
  const port = await freeUdpPair();
  const dir = tempDir('diemcau-tap-');
  try {
    const tap = await edge.api<{ tapId: string; sdp: string }>('POST', `/media/v1/meetings/${meetingId}/taps`, {
      producerId,
      ip: '127.0.0.1',
      port,
    });
    if (tap.status !== 201) throw new Error(`tap refused: ${tap.status} ${JSON.stringify(tap.body)}`);
    const sdpFile = path.join(dir, 'tap.sdp');
    fs.writeFileSync(sdpFile, tap.body.sdp);
    const { width, height } = opts;
    const band = bandHeight(height);
    const frameBytes = width * band * 3;
    const ff = spawn(
      'ffmpeg',
      [
        '-nostdin',
        '-hide_banner',
        '-loglevel',
        'error',
        '-protocol_whitelist',
        'file,udp,rtp',
        '-i',
        sdpFile,
        '-an',
        '-frames:v',
        String(opts.frames),
        '-vf',
        `scale=${width}:${height},crop=${width}:${band}:0:${height - band}`,
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        'pipe:1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    let err = '';
    ff.stdout.on('data', (c: Buffer) => chunks.push(c));
    ff.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => ff.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((r) => ff.on('exit', (c) => r(c)));
    clearTimeout(timer);
    await edge.api('DELETE', `/media/v1/meetings/${meetingId}/taps/${tap.body.tapId}`);
    const all = Buffer.concat(chunks);
    const frames = Math.floor(all.length / frameBytes);
    if (frames === 0) throw new Error(`ffmpeg decoded nothing (exit ${code}): ${err}`);
    const last = all.subarray((frames - 1) * frameBytes, frames * frameBytes);
    const sum = [0, 0, 0];
    for (let i = 0; i < last.length; i += 3) for (let c = 0; c < 3; c++) sum[c]! += last[i + c]!;
    const n = last.length / 3;
    return { frames, band: [sum[0]! / n, sum[1]! / n, sum[2]! / n], sdp: tap.body.sdp };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether a decoded colour is the site's (each channel on the right side of mid-grey). */
export const sameColour = (got: [number, number, number], want: [number, number, number]): boolean =>
  got.every((v, i) => v > 128 === want[i]! > 128 && Math.abs(v - want[i]!) < 60);
