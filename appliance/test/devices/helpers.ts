import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Clock } from '../../src/devices/gpio/pins.js';
import type { Log } from '../../src/devices/types.js';

// Shared test helpers: temp dirs, media made by the real ffmpeg, fixture
// sysfs/procfs trees, a log that records, and a clock stepped by hand.

const run = promisify(execFile);

export async function tempDir(t: { teardown(fn: () => unknown): void }, prefix = 'diemcau-dev-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** Audio files at known levels: a sine at `dbfs`, digital silence, or a square driven past full scale. */
export async function makeWav(file: string, kind: 'sine' | 'silence' | 'clipped', dbfs = -6): Promise<string> {
  const src =
    kind === 'sine'
      ? // aevalsrc, not the sine source: that one has a fixed amplitude of 1/8
        `aevalsrc='${Math.pow(10, dbfs / 20).toFixed(6)}*sin(2*PI*440*t)':s=16000:d=2`
      : kind === 'silence'
        ? 'anullsrc=r=16000:cl=mono,atrim=duration=2'
        : // square wave at twice full scale: the s16 encoder clamps it to flat tops
          "aevalsrc='2*(2*lt(mod(t*440\\,1)\\,0.5)-1)':s=16000:d=2";
  await ffmpeg(['-f', 'lavfi', '-i', src, '-ac', '1', '-c:a', 'pcm_s16le', file]);
  return file;
}

/** Video files: black frames, one still testsrc frame repeated, or the moving testsrc. */
export async function makeVideo(dir: string, kind: 'black' | 'static' | 'moving' | 'still-room'): Promise<string> {
  const file = path.join(dir, `${kind}.mkv`);
  const enc = ['-t', '2', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', file];
  if (kind === 'black') await ffmpeg(['-f', 'lavfi', '-i', 'color=c=black:s=320x240:r=25', ...enc]);
  else if (kind === 'moving') await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=320x240:r=25', ...enc]);
  else {
    const still = path.join(dir, 'still.png');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=320x240:r=25', '-frames:v', '1', still]);
    // 'still-room': the same scene with faint sensor noise, as a live camera sees an empty room
    const noise = kind === 'still-room' ? ['-vf', 'noise=alls=2:allf=t'] : [];
    await ffmpeg(['-loop', '1', '-framerate', '25', '-i', still, ...noise, ...enc]);
  }
  return file;
}

/** Writes a tree of files: { 'class/drm/card0-HDMI-A-1/status': 'connected\n' }. */
export async function writeTree(root: string, files: Record<string, string>): Promise<string> {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, content);
  }
  return root;
}

/** An executable shell script standing in for a host tool (cec-client, systemctl). */
export async function writeScript(file: string, body: string): Promise<string> {
  await fs.writeFile(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

export interface Entry {
  level: string;
  obj: object;
  msg?: string;
}

export function recordingLog(entries: Entry[] = []): Log & { entries: Entry[] } {
  const make = (bindings: object): Log & { entries: Entry[] } => {
    const at = (level: string) => (obj: object, msg?: string) =>
      void entries.push({ level, obj: { ...bindings, ...obj }, msg });
    return {
      entries,
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      debug: at('debug'),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return make({});
}

/** A clock that only moves when told; timers fire in time order. */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers)
        if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}
