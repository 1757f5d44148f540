// What the VM scenarios after enrolment share: a fleet with a district and
// one commune, a box booted from a copy-on-write overlay of the image with a
// stick, enrolled and online; releases built and uploaded as a release
// manager does; rollouts; a power cut (the QEMU process killed) and a boot of
// the same disk again; and the update journal's pause hook, set over the
// guest agent, to cut the power at a known step of an update; the status
// LED on a simulated GPIO line (led.ts), sampled inside the box.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LedPatternName } from '@diemcau/shared';
import { LED_LINE, LED_UNIT, namePattern, sampleScript, type LedSample } from './led.js';
import {
  ADMIN_TOKEN,
  bootVm,
  makeStick,
  pickAccel,
  exitOf,
  repo,
  startFleet,
  waitFor,
  type FleetProcess,
  type Vm,
} from './vm.js';

const run = promisify(execFile);
/** Early-boot kernel panics a run survives by powering on again (software emulation on a starved host). */
const MAX_PANICS = 3;

export const version = (
  JSON.parse(fs.readFileSync(path.join(repo, 'appliance', 'package.json'), 'utf8')) as { version: string }
).version;
export const image = process.env.DIEMCAU_IMAGE ?? path.join(repo, 'dist', 'image', `diemcau-box-${version}.img`);
const cacheRoot =
  process.env.DIEMCAU_CACHE_DIR ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'diemcau');
/** The key the image's releases are signed with: the build's, or the development key image:build keeps. */
export const releaseKey =
  process.env.DIEMCAU_RELEASE_KEY ?? path.join(cacheRoot, 'image', 'dev-release-keys', 'dev-release.key');
const trusted =
  process.env.DIEMCAU_TRUSTED_KEYS ?? path.join(cacheRoot, 'image', 'dev-release-keys', 'trusted-keys.json');

/** The n-th patch release after the image's version. */
export const patch = (n: number): string =>
  `${version.split('.').slice(0, 2).join('.')}.${Number(version.split('.')[2]) + n}`;

export const missingImage = (): string | null =>
  fs.existsSync(image) && fs.existsSync(releaseKey)
    ? null
    : `needs the image (${image}) and its signing key (${releaseKey}): npm run image:build`;

export interface DeviceView {
  id: string;
  online: boolean;
  agentVersion: string | null;
  /** When the fleet last saw it come online or go offline (the fleet's clock). */
  presenceAt: string | null;
  /** From the box's birth: 'ok' or what is wrong, per peripheral. */
  peripherals?: { camera: string; microphone: string; display: string } | null;
}

/** Whether the box's camera, microphone and TV all said ok (what the LED's "online" needs). */
export const roomReady = (d: DeviceView): boolean =>
  d.peripherals?.camera === 'ok' && d.peripherals.microphone === 'ok' && d.peripherals.display === 'ok';

/** Where the pause hook's trigger lives on the box (the agent's own state dir). */
export const PAUSE_FILE = '/var/lib/diemcau/ota/pause-at';

interface Tap {
  teardown(fn: () => unknown): void;
  comment(...args: unknown[]): void;
  passing(): boolean;
}

export interface Box {
  fleet: FleetProcess;
  work: string;
  accel: 'kvm' | 'tcg';
  bootMs: number;
  vm: Vm;
  /** Early-boot kernel panics met (each one's power-on was cut and the disk powered on again). */
  panics: string[];
  device(): Promise<DeviceView | undefined>;
  /**
   * Waits until the fleet shows the box online, having come online since
   * this VM's power-on (not a presence left from before a reboot or a cut),
   * and `ok` accepts what it sees.
   */
  online(ok: (d: DeviceView) => boolean, timeoutMs: number, what: string): Promise<DeviceView>;
  offline(timeoutMs: number): Promise<void>;
  /** Runs a shell line in the guest (as root, through the guest agent). */
  sh(cmd: string, timeoutMs?: number): Promise<string>;
  /** Kills the VM at once (a power cut), then boots the same disk again. */
  powerCut(): Promise<void>;
  /**
   * A reboot asked of the box's systemd: a full shutdown, then the reset,
   * which ends QEMU (-no-reboot); the same disk is powered on again at once.
   */
  reboot(): Promise<void>;
  /**
   * The box rebooted by itself (its agent asked systemd): waits for the reset,
   * which ends QEMU (-no-reboot), then powers the same disk on again.
   */
  rebootedByItself(timeoutMs: number): Promise<void>;
  /** Builds `v` (optionally from another entry) and uploads it to the fleet. */
  release(v: string, entry?: string): Promise<void>;
  rollout(v: string): Promise<string>;
  rolloutState(id: string): Promise<string>;
  /** The box's `current` and `previous` links, as versions. */
  links(): Promise<{ current: string; previous: string }>;
  /**
   * Test-only settings on the box (agent.env, never in the image): the
   * updater stops once at `pauseAt`; `led` wires the status LED to a
   * simulated GPIO line; `kiosk: false` keeps the TV's browser off (cage and
   * Chromium cost minutes of each boot under software emulation, and the
   * updater does not depend on them). Restarts the agent once when a setting
   * is new.
   */
  hooks(o: { pauseAt?: string; led?: boolean; kiosk?: false }): Promise<void>;
  /** The LED's pattern as the line's rhythm shows it inside the box (hooks({ led: true }) first). */
  led(ms?: number): Promise<{ pattern: LedPatternName; sample: LedSample; why?: string }>;
  /** Resolves once the updater stopped at the armed checkpoint. */
  paused(timeoutMs: number): Promise<void>;
}

export async function enrolledBox(t: Tap, serial: string): Promise<Box> {
  const { accel } = await pickAccel();
  const bootMs = accel === 'kvm' ? 300_000 : 1_800_000;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-image-scenario-'));
  t.teardown(() => {
    // A failed run keeps the box's serial console for the reader.
    const consoleLog = path.join(work, 'vm', 'console.log');
    if (!t.passing() && fs.existsSync(consoleLog)) {
      const kept = path.join(os.tmpdir(), `diemcau-image-${serial}-console.log`);
      fs.copyFileSync(consoleLog, kept);
      process.stderr.write(`serial console kept in ${kept}\n`);
    }
    fs.rmSync(work, { recursive: true, force: true });
  });
  const fleet = await startFleet(t, path.join(work, 'fleet'), { DIEMCAU_OTA_TRUSTED_KEYS: trusted });
  const imported = await fleet.api('POST', '/api/v1/sites/import', {
    sites: [
      { id: 'huyen-thu', name: 'Huyện Thử', kind: 'district', parentId: null },
      { id: 'xa-ba', name: 'Xã Ba', kind: 'commune', parentId: 'huyen-thu' },
    ],
  });
  if (imported.status !== 200) throw new Error(`site import: HTTP ${imported.status}`);

  const dir = path.join(work, 'vm');
  fs.mkdirSync(dir);
  const tsx = (args: string[], timeout: number) =>
    run(process.execPath, ['--import', 'tsx', ...args], { cwd: repo, timeout });
  await tsx(
    [
      path.join(repo, 'provisioning', 'src', 'main.ts'),
      'token',
      'xa-ba',
      '--out',
      dir,
      '--fleet',
      fleet.hostUrl,
      '--token',
      ADMIN_TOKEN,
    ],
    60_000,
  );
  const file = path.join(dir, 'diemcau-bootstrap.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ ...(JSON.parse(fs.readFileSync(file, 'utf8')) as object), fleetUrl: fleet.guestUrl }),
  );
  const stick = path.join(dir, 'stick.img');
  makeStick(stick, { 'diemcau-bootstrap.json': file });
  const disk = path.join(dir, 'disk.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image, '-F', 'raw', disk], { timeout: 30_000 });
  const boot = (): Vm => bootVm(t, { dir, disk, diskFormat: 'qcow2', serial, stick, accel });

  const box: Box = {
    fleet,
    work,
    accel,
    bootMs,
    vm: boot(),
    panics: [],
    device: async () => (await fleet.api<{ items: DeviceView[] }>('GET', '/api/v1/devices?siteId=xa-ba')).body.items[0],
    online: async (ok, timeoutMs, what) => {
      // A kernel that panicked never comes online. Under software emulation on a
      // starved host the kernel's early timer check can run out of time ("IO-APIC +
      // timer doesn't work!"): that power-on is cut and the disk powered on again,
      // at most MAX_PANICS times a run, each one reported; then the wait fails at once.
      let panic: string | undefined;
      const d = await waitFor(
        async () => {
          panic = kernelPanic(box.vm.consoleLog);
          if (panic && box.panics.length >= MAX_PANICS) return null;
          if (panic) {
            box.panics.push(`${what}: ${panic}`);
            await box.powerCut();
            return undefined;
          }
          const d = await box.device();
          const fresh = Date.parse(d?.presenceAt ?? '') >= box.vm.startedAt;
          return d?.online && fresh && ok(d) ? d : undefined;
        },
        timeoutMs,
        what,
        1000,
      );
      if (!d) throw new Error(`the box's kernel panicked while waiting for ${what}: ${panic}`);
      return d;
    },
    offline: async (timeoutMs) => {
      await waitFor(
        async () => ((await box.device())?.online === false ? true : undefined),
        timeoutMs,
        'the box offline',
        500,
      );
    },
    sh: async (cmd, timeoutMs = 30_000) => {
      const r = await box.vm.qga.exec('/bin/sh', ['-c', cmd], timeoutMs);
      if (r.code !== 0) throw new Error(`guest: ${cmd}: exit ${r.code}: ${r.err.trim()}`);
      return r.out;
    },
    powerCut: async () => {
      const old = box.vm;
      old.qga.close();
      const exited = exitOf(old.child, 30_000, 'QEMU killed');
      old.child.kill('SIGKILL');
      await exited;
      box.vm = boot();
    },
    reboot: async () => {
      const old = box.vm;
      const exited = exitOf(old.child, box.bootMs, 'the box reset after systemctl reboot');
      // The guest agent stops with the guest: its answer may never come.
      await box.sh('systemctl reboot', 20_000).catch(() => undefined);
      await exited;
      old.qga.close();
      box.vm = boot();
    },
    rebootedByItself: async (timeoutMs) => {
      const old = box.vm;
      await exitOf(old.child, timeoutMs, 'the box reset after its own reboot');
      old.qga.close();
      box.vm = boot();
    },
    release: async (v, entry) => {
      await tsx(
        [
          path.join(repo, 'provisioning', 'src', 'release', 'build-cli.ts'),
          '--key',
          releaseKey,
          '--version',
          v,
          '--out',
          path.join(work, 'rel'),
          '--upload',
          fleet.hostUrl,
          '--token',
          ADMIN_TOKEN,
          ...(entry ? ['--entry', entry] : []),
        ],
        180_000,
      );
    },
    rollout: async (v) => {
      const r = await fleet.api<{ id: string }>('POST', '/api/v1/rollouts', {
        release: v,
        rootSiteId: 'xa-ba',
        rings: [{ name: 'all', select: { kind: 'rest' }, maxInFlight: 1 }],
        abort: { maxFailureRate: 1, minDevices: 1 },
        silentTimeoutMin: 30,
        meetingLeadMin: 0,
      });
      if (r.status !== 201) throw new Error(`rollout of ${v}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.id;
    },
    rolloutState: async (id) => (await fleet.api<{ state: string }>('GET', `/api/v1/rollouts/${id}`)).body.state,
    links: async () => {
      const [current = '', previous = ''] = (
        await box.sh('readlink /opt/diemcau/current; readlink /opt/diemcau/previous || true')
      )
        .trim()
        .split('\n')
        .map((l) => path.basename(l));
      return { current, previous };
    },
    hooks: async ({ pauseAt, led, kiosk }) => {
      const env: string[] = [];
      const steps: string[] = ['set -e'];
      // The image's units live in /etc/systemd/system, where `systemctl mask` cannot put
      // its link: a drop-in whose condition never holds keeps the unit from starting, across boots.
      if (kiosk === false)
        steps.push(
          'mkdir -p /etc/systemd/system/diemcau-kiosk.service.d',
          "printf '[Unit]\\nConditionPathExists=/nonexistent/image-test\\n' > /etc/systemd/system/diemcau-kiosk.service.d/image-test-off.conf",
          'systemctl daemon-reload',
          'systemctl stop diemcau-kiosk.service',
        );
      if (pauseAt) {
        steps.push(`rm -f ${PAUSE_FILE}.hit`, `printf '%s\\n' '${pauseAt}' > ${PAUSE_FILE}`);
        env.push(`DIEMCAU_OTA_PAUSE_FILE=${PAUSE_FILE}`);
      }
      if (led) {
        steps.push(
          `cat > /etc/systemd/system/diemcau-test-gpio.service <<'UNIT'\n${LED_UNIT}UNIT`,
          'systemctl daemon-reload',
          'systemctl enable --now diemcau-test-gpio.service',
        );
        env.push(`DIEMCAU_GPIO_LED=${LED_LINE}`);
      }
      steps.push(
        'new=',
        ...env.map(
          (l) =>
            `grep -qxF '${l}' /etc/diemcau/agent.env 2>/dev/null || { echo '${l}' >> /etc/diemcau/agent.env; new=1; }`,
        ),
        'sync',
        '[ -z "$new" ] || systemctl restart diemcau-agent',
      );
      await box.sh(steps.join('\n'), 120_000);
    },
    led: async (ms = 6000) => {
      const out = await box.sh(`/usr/bin/node -e "${sampleScript(ms)}"`, ms + 60_000);
      const sample = JSON.parse(out.trim().split('\n').pop() ?? '{}') as LedSample;
      const pattern = namePattern(sample);
      if (pattern !== 'off') return { pattern, sample };
      // A dark line: what the box says about it, for the reader of a failure.
      const why = await box
        .sh(
          `findmnt -n /sys/class/gpio || echo 'no simulated line mounted'; ls -l /sys/class/gpio/gpio${LED_LINE}/ 2>&1; ` +
            `grep GPIO /etc/diemcau/agent.env; journalctl -b -u diemcau-agent -o cat | grep -i -E 'gpio|led' | tail -4; ` +
            `journalctl -b -o short-monotonic -u diemcau-test-gpio -u diemcau-agent | grep -E 'Start|Finish|gpio|GPIO|LED' | head -20`,
        )
        .catch((err: Error) => err.message);
      return { pattern, sample, why };
    },
    paused: async (timeoutMs) => {
      await waitFor(
        async () => ((await box.sh(`cat ${PAUSE_FILE}.hit 2>/dev/null || true`)).trim() ? true : undefined),
        timeoutMs,
        'the updater at its checkpoint',
        2000,
      );
    },
  };
  t.comment(`accelerator: ${accel}`);
  t.teardown(() => {
    if (box.panics.length > 0)
      process.stdout.write(
        `\n# kernel panics, each power-on cut and repeated:\n${box.panics.map((p) => `#   ${p}`).join('\n')}\n`,
      );
  });
  return box;
}

/**
 * The panic line of the box's serial console, if its kernel panicked. Seen
 * under software emulation on a starved host: "IO-APIC + timer doesn't work!"
 * during early boot (the kernel's timer check ran out of time).
 */
function kernelPanic(consoleLog: string): string | undefined {
  try {
    const text = fs.readFileSync(consoleLog, 'utf8');
    const at = text.indexOf('Kernel panic');
    return at < 0 ? undefined : text.slice(at, at + 160).split('\n')[0];
  } catch {
    return undefined; // no console yet
  }
}

/** Seconds since `from`, one decimal. */
export const since = (from: number): string => ((Date.now() - from) / 1000).toFixed(1);
