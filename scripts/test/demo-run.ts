// Runs the demo (`scripts/demo.ts`) as `npm run demo` starts it, on free ports
// in a fresh data dir, for the tests that drive it (demo.test.ts, the chair's
// console and the TVs): its output, its ports, and the processes it left.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const free = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net
      .createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
// Below Linux's ephemeral range (32768 on): the demo binds its later ports
// (the edges) a minute after they were found free, and in between another
// test's outgoing connection may take one from that range.
async function freeRun(n: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20000 + Math.floor(Math.random() * 12000);
    const ok = await Promise.all(Array.from({ length: n }, (_, k) => free(base + k)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no run of free ports');
}
export const answers = async (url: string): Promise<boolean> =>
  fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    () => true,
    () => false,
  );

/** Processes whose environment names this run's data dir: what the demo started and left behind. */
export function processesOf(dataDir: string): number[] {
  const pids: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(dataDir)) pids.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

const describe = (pid: number): string => {
  try {
    return `${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 200)} ${fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2]}`;
  } catch {
    return `${pid} gone`;
  }
};

/**
 * What is left of the run a few seconds after the demo exited: a mediasoup
 * worker notices its edge is gone when its pipe closes, which takes a moment
 * on a loaded machine; anything still there after 10 s was left behind.
 */
export async function leftAfterExit(dataDir: string): Promise<string[]> {
  for (let i = 0; i < 40 && processesOf(dataDir).length > 0; i++) await new Promise((r) => setTimeout(r, 250));
  return processesOf(dataDir).map(describe);
}

/** The demo on free ports in a fresh data dir, as `npm run demo` starts it; `until` resolves when its output matches. */
export function startDemo(t: Test, devices: number) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-demo-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  return freeRun(7).then((base) => {
    const demo = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/demo.ts')], {
      cwd: root,
      env: {
        ...process.env,
        DIEMCAU_HTTP_PORT: String(base),
        DIEMCAU_MQTT_PORT: String(base + 1),
        DIEMCAU_DEMO_EDGE_PORT: String(base + 2),
        DIEMCAU_DATA_DIR: dataDir,
        DIEMCAU_DEMO_DEVICES: String(devices),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
    t.teardown(() => {
      if (demo.exitCode === null) demo.kill('SIGKILL');
      for (const pid of processesOf(dataDir))
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
    });
    let out = '';
    const waiters: Array<() => void> = [];
    const onData = (d: string) => {
      out += d;
      for (const w of waiters) w();
    };
    demo.stderr.setEncoding('utf8').on('data', onData);
    demo.stdout.setEncoding('utf8').on('data', onData);
    /** True once the output contains `text`; false if the demo exits first or 4 minutes pass. */
    const until = (text: string): Promise<boolean> =>
      new Promise((resolve) => {
        const check = () => {
          if (out.includes(text)) {
            clearTimeout(timer);
            resolve(true);
          }
        };
        const timer = setTimeout(() => resolve(false), 240_000);
        waiters.push(check);
        check();
        void exited.then(() => {
          clearTimeout(timer);
          resolve(out.includes(text));
        });
      });
    return { demo, exited, until, dataDir, output: () => out, http: base, edge: base + 2 };
  });
}
