// The parts of the image test: a real fleet as its own process on 127.0.0.1,
// the built disk image booted under QEMU (KVM when /dev/kvm exists), a FAT
// "USB stick", and the QEMU guest agent's channel to ask the booted box for
// its units' states. Every wait is bounded; every process started here is
// stopped by the caller's teardown.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ADMIN_TOKEN = 'image-test-admin-token-0123456789abcdef';
/** QEMU user networking: the guest reaches the host's 127.0.0.1 at this address. */
export const HOST_FROM_GUEST = '10.0.2.2';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until fn returns a value (not undefined), at most timeoutMs. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  everyMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await sleep(everyMs);
  }
}

/** Resolves once the child has exited; rejects after timeoutMs (the child is left as it is). */
export function exitOf(child: ChildProcess, timeoutMs: number, what: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs / 1000} s`)), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Stops a child: SIGTERM, then SIGKILL after graceMs; resolves once it exited. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface FleetProcess {
  child: ChildProcess;
  httpPort: number;
  mqttPort: number;
  /** The fleet as the host (operator) reaches it. */
  hostUrl: string;
  /** The fleet as the VM reaches it. */
  guestUrl: string;
  api<T>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }>;
  logLines: string[];
}

/** `tsx fleet/src/main.ts` on ephemeral ports on 127.0.0.1, its log kept for failures. */
export async function startFleet(
  t: Teardown,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<FleetProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'fleet', 'src', 'main.ts')], {
    cwd: repo,
    env: {
      ...process.env,
      DIEMCAU_HTTP_PORT: '0',
      DIEMCAU_MQTT_PORT: '0',
      DIEMCAU_HOST: '127.0.0.1',
      DIEMCAU_DATA_DIR: dataDir,
      DIEMCAU_ADMIN_TOKEN: ADMIN_TOKEN,
      DIEMCAU_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => stopChild(child));
  const logLines: string[] = [];
  const ports = new Promise<{ httpPort: number; mqttPort: number }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (logLines.length < 5000) logLines.push(line);
        try {
          const rec = JSON.parse(line) as { msg?: string; httpPort?: number; mqttPort?: number };
          if (rec.msg === 'fleet listening' && rec.httpPort && rec.mqttPort)
            resolve({ httpPort: rec.httpPort, mqttPort: rec.mqttPort });
        } catch {
          // not JSON: kept in logLines only
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => logLines.push(chunk.toString()));
    child.once('exit', (code) =>
      reject(new Error(`the fleet exited (${code}) before listening:\n${logLines.slice(-20).join('\n')}`)),
    );
  });
  const timeout = sleep(60_000).then(() => {
    throw new Error('the fleet did not listen within 60 s');
  });
  const { httpPort, mqttPort } = await Promise.race([ports, timeout]);
  const hostUrl = `http://127.0.0.1:${httpPort}`;
  const api: FleetProcess['api'] = async (method, url, body) => {
    const res = await fetch(`${hostUrl}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: (text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text) as never,
    };
  };
  return { child, httpPort, mqttPort, hostUrl, guestUrl: `http://${HOST_FROM_GUEST}:${httpPort}`, api, logLines };
}

/** A FAT filesystem image holding the given files at its root: the USB stick. */
export function makeStick(file: string, files: Record<string, string>): void {
  fs.rmSync(file, { force: true });
  execFileSync('mkfs.fat', ['-C', '-n', 'DIEMCAU', file, String(16 * 1024)], { stdio: 'ignore' });
  for (const [name, src] of Object.entries(files))
    execFileSync('mcopy', ['-i', file, src, `::/${name}`], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
}

/** Copies a file onto the disk image's EFI system partition (the first, at 1 MiB; /boot/firmware on the box). */
export function putOnEsp(img: string, src: string, name: string): void {
  execFileSync('mcopy', ['-o', '-i', `${img}@@1M`, src, `::/${name}`], {
    env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
  });
}

export function ovmf(): { code: string; vars: string } {
  for (const [code, vars] of [
    ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
    ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
  ] as const) {
    if (fs.existsSync(code) && fs.existsSync(vars)) return { code, vars };
  }
  throw new Error('no OVMF firmware: apt-get install ovmf');
}

const hasKvmDevice = (): boolean => {
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * KVM when /dev/kvm exists and really runs the firmware, else software
 * emulation (TCG). Some nested hosts expose a /dev/kvm that fails on the
 * firmware's first FPU instructions ("KVM internal error"): a 6 s probe boot
 * of OVMF alone tells. DIEMCAU_IMAGE_ACCEL=kvm|tcg decides without probing.
 */
export async function pickAccel(): Promise<{ accel: 'kvm' | 'tcg'; why: string }> {
  const forced = process.env.DIEMCAU_IMAGE_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, why: 'DIEMCAU_IMAGE_ACCEL' };
  if (!hasKvmDevice()) return { accel: 'tcg', why: 'no /dev/kvm' };
  const fw = ovmf();
  const child = spawn(
    'qemu-system-x86_64',
    [
      '-machine',
      'q35,accel=kvm',
      '-cpu',
      'host,-arch-capabilities',
      '-m',
      '256',
      '-nodefaults',
      '-display',
      'none',
      '-monitor',
      'none',
      '-drive',
      `if=pflash,format=raw,readonly=on,snapshot=on,file=${fw.code}`,
      '-drive',
      `if=pflash,format=raw,snapshot=on,file=${fw.vars}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await Promise.race([exited, sleep(6000)]);
  const failed = child.exitCode !== null || /KVM internal error|emulation failure/.test(err);
  await stopChild(child, 2000);
  return failed
    ? { accel: 'tcg', why: `/dev/kvm cannot run the firmware (${err.split('\n')[0]?.slice(0, 80) || 'qemu exited'})` }
    : { accel: 'kvm', why: '/dev/kvm' };
}

export interface VmOptions {
  dir: string;
  /** The disk: a qcow2 overlay or a raw copy, written by the VM. */
  disk: string;
  diskFormat: 'qcow2' | 'raw';
  serial: string;
  stick?: string;
  memoryMiB?: number;
  accel: 'kvm' | 'tcg';
}

export interface Vm {
  child: ChildProcess;
  startedAt: number;
  consoleLog: string;
  qga: GuestAgent;
  stop(): Promise<void>;
}

export function bootVm(t: Teardown, o: VmOptions): Vm {
  const fw = ovmf();
  const vars = path.join(o.dir, 'OVMF_VARS.fd');
  fs.copyFileSync(fw.vars, vars);
  const qgaSock = path.join(o.dir, 'qga.sock');
  fs.rmSync(qgaSock, { force: true });
  const consoleLog = path.join(o.dir, 'console.log');
  // Each power-on's console starts empty: a reader never mistakes the last boot's lines for this one's.
  fs.rmSync(consoleLog, { force: true });
  const kvm = o.accel === 'kvm';
  const args = [
    '-name',
    'diemcau-box',
    '-machine',
    `q35,accel=${kvm ? 'kvm' : 'tcg'}`,
    // Without arch-capabilities: nested KVM (a VM as build host) refuses to set that MSR.
    '-cpu',
    kvm ? 'host,-arch-capabilities' : 'max',
    '-smp',
    '2',
    '-m',
    String(o.memoryMiB ?? 2048),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-drive',
    `if=pflash,format=raw,readonly=on,file=${fw.code}`,
    '-drive',
    `if=pflash,format=raw,file=${vars}`,
    '-drive',
    `file=${o.disk},format=${o.diskFormat},if=virtio,cache=unsafe`,
    // The box's DMI serial, as on a mini-PC's board.
    '-smbios',
    `type=1,manufacturer=Diemcau,product=VM,serial=${o.serial}`,
    // User networking only: the guest's traffic ends on the host's loopback (10.0.2.2).
    '-netdev',
    'user,id=n0',
    '-device',
    'virtio-net-pci,netdev=n0',
    // A screen for cage (virtio-gpu gives a DRM device) and a keyboard.
    '-device',
    'virtio-gpu-pci',
    // Onboard sound, as on a mini-PC: an HD Audio codec with a line-in, which
    // the box's audio server opens. No host audio behind it: the input records silence.
    '-audiodev',
    'none,id=snd0',
    '-device',
    'ich9-intel-hda',
    '-device',
    'hda-duplex,audiodev=snd0',
    '-device',
    'qemu-xhci,id=xhci',
    '-device',
    'usb-kbd,bus=xhci.0',
    '-chardev',
    `socket,id=qga,path=${qgaSock},server=on,wait=off`,
    '-device',
    'virtio-serial-pci',
    '-device',
    'virtserialport,chardev=qga,name=org.qemu.guest_agent.0',
    '-serial',
    `file:${consoleLog}`,
    '-monitor',
    'none',
    // A reset the guest asks for (systemctl reboot) ends QEMU; the caller powers
    // the same disk on again. Under TCG on a loaded host, OVMF's warm reset has
    // hung with no output for minutes; a fresh QEMU is a clean, bounded reset.
    '-no-reboot',
  ];
  if (o.stick) {
    args.push(
      '-drive',
      `if=none,id=stick,format=raw,file=${o.stick}`,
      '-device',
      'usb-storage,bus=xhci.0,drive=stick,removable=on',
    );
  }
  const startedAt = Date.now();
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`qemu exited ${code}: ${stderr}\n`);
  });
  const qga = new GuestAgent(qgaSock);
  const stop = async (): Promise<void> => {
    qga.close();
    await stopChild(child, 3000);
  };
  t.teardown(stop);
  return { child, startedAt, consoleLog, qga, stop };
}

interface QgaReply {
  return?: unknown;
  error?: { class: string; desc: string };
}

/** The QEMU guest agent's JSON protocol over its virtio-serial channel (one request at a time). */
export class GuestAgent {
  private sock: net.Socket | undefined;
  private buf = '';
  private waiting: ((r: QgaReply) => void) | undefined;
  private syncId = Math.floor(Math.random() * 1e9);

  constructor(private readonly path: string) {}

  private async connect(): Promise<net.Socket> {
    if (this.sock && !this.sock.destroyed) return this.sock;
    const sock = net.connect(this.path);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.on('error', () => sock.destroy());
    sock.on('data', (c: Buffer) => {
      this.buf += c.toString();
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).replace(/^\xff/, '').trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line) continue;
        try {
          const w = this.waiting;
          this.waiting = undefined;
          w?.(JSON.parse(line) as QgaReply);
        } catch {
          // a partial line after a reconnect: the next sync settles it
        }
      }
    });
    this.sock = sock;
    return sock;
  }

  private async request(cmd: object, timeoutMs: number): Promise<QgaReply> {
    const sock = await this.connect();
    const reply = this.next(timeoutMs, JSON.stringify(cmd).slice(0, 60));
    sock.write(`${JSON.stringify(cmd)}\n`);
    return reply;
  }

  /**
   * Resolves once the guest agent answers guest-sync with a fresh id. Replies
   * to requests that timed out earlier may still be in the channel: they are
   * read and dropped until the sync's own answer comes.
   */
  async sync(timeoutMs = 20_000): Promise<void> {
    const id = ++this.syncId;
    const deadline = Date.now() + timeoutMs;
    let r = await this.request({ execute: 'guest-sync', arguments: { id } }, timeoutMs);
    while (r.return !== id) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`guest agent: no answer to guest-sync ${id}`);
      r = await this.next(left, `guest-sync ${id}`);
    }
  }

  /**
   * The next reply on the channel, whatever it answers. On timeout the
   * connection is dropped (the agent may not be up yet): a fresh one next time.
   */
  private next(timeoutMs: number, what = 'a reply'): Promise<QgaReply> {
    return new Promise<QgaReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.sock?.destroy();
        reject(new Error(`guest agent: no answer to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  /** Runs a program in the guest; its exit code and output. */
  async exec(file: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; out: string; err: string }> {
    await this.sync();
    const started = await this.request(
      { execute: 'guest-exec', arguments: { path: file, arg: args, 'capture-output': true } },
      20_000,
    );
    if (started.error) throw new Error(`guest-exec ${file}: ${started.error.desc}`);
    const pid = (started.return as { pid: number }).pid;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.request({ execute: 'guest-exec-status', arguments: { pid } }, 20_000);
      const r = st.return as
        { exited: boolean; exitcode?: number; 'out-data'?: string; 'err-data'?: string } | undefined;
      if (r?.exited) {
        const dec = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString() : '');
        return { code: r.exitcode ?? -1, out: dec(r['out-data']), err: dec(r['err-data']) };
      }
      if (Date.now() > deadline)
        throw new Error(`guest-exec ${file} ${args.join(' ')}: still running after ${timeoutMs} ms`);
      await sleep(300);
    }
  }

  close(): void {
    this.sock?.destroy();
  }
}
