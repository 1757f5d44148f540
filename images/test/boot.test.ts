// `npm run test:image`: the built disk image booted under QEMU, as a commune
// receives the box. A real fleet runs on 127.0.0.1 (ephemeral ports); the VM
// reaches it at 10.0.2.2 through QEMU's user networking, nothing else.
//   1. With a USB stick carrying what `provision token` writes: the box finds
//      it, enrols, is online under its commune, its agent, edge and kiosk
//      units are active, and an identify command reaches it.
//   2. No stick, a serial pre-registered by an operator: the box reads the
//      fleet's address from its EFI partition (where a province imaging disks
//      in bulk puts a bootstrap file without a token) and enrols by its DMI serial.
// Power-on → online is printed for each. Not part of `npm test`: it needs the
// image (npm run image:build, root) and boots a VM.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ADMIN_TOKEN,
  bootVm,
  pickAccel,
  putOnEsp,
  makeStick,
  repo,
  startFleet,
  waitFor,
  type FleetProcess,
  type Vm,
} from './vm.js';

const run = promisify(execFile);
const version = (
  JSON.parse(fs.readFileSync(path.join(repo, 'appliance', 'package.json'), 'utf8')) as { version: string }
).version;
const image = process.env.DIEMCAU_IMAGE ?? path.join(repo, 'dist', 'image', `diemcau-box-${version}.img`);
const { accel, why } = await pickAccel();
const kvm = accel === 'kvm';
// Bounds, not expectations: software emulation is ten times slower.
const ONLINE_MS = kvm ? 300_000 : 1_800_000;
const UNITS_MS = kvm ? 180_000 : 900_000;
const UNITS = ['diemcau-agent.service', 'diemcau-edge.service', 'diemcau-kiosk.service'];

interface DeviceView {
  id: string;
  siteId: string;
  serial: string | null;
  online: boolean;
  agentVersion: string | null;
}
interface CommandView {
  id: string;
  status: string;
}

const figures: string[] = [];

if (!fs.existsSync(image)) {
  t.fail(`no image at ${image}: build it with npm run image:build (root, Debian 12)`);
} else {
  t.comment(
    `image ${image} (${(fs.statSync(image).size / 2 ** 20).toFixed(0)} MiB), ${kvm ? 'KVM' : `software emulation (${why})`}`,
  );
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-image-test-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

  const fleet = await startFleet(t, path.join(work, 'fleet'));
  const imported = await fleet.api('POST', '/api/v1/sites/import', {
    sites: [
      { id: 'huyen-thu', name: 'Huyện Thử', kind: 'district', parentId: null },
      { id: 'xa-mot', name: 'Xã Một', kind: 'commune', parentId: 'huyen-thu' },
      { id: 'xa-hai', name: 'Xã Hai', kind: 'commune', parentId: 'huyen-thu' },
    ],
  });
  t.equal(imported.status, 200, 'sites imported');

  t.test('power on with a stick: enrols, online under its commune, units active, identify reaches it', async (t) => {
    const dir = path.join(work, 'stick');
    fs.mkdirSync(dir);
    // What the operator does: provision token writes the stick's file.
    await run(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repo, 'provisioning', 'src', 'main.ts'),
        'token',
        'xa-mot',
        '--out',
        dir,
        '--fleet',
        fleet.hostUrl,
        '--token',
        ADMIN_TOKEN,
      ],
      {
        cwd: repo,
        timeout: 60_000,
      },
    );
    const file = path.join(dir, 'diemcau-bootstrap.json');
    const bootstrap = JSON.parse(fs.readFileSync(file, 'utf8')) as { fleetUrl: string; token?: string };
    t.ok(bootstrap.token, 'the bootstrap carries a token');
    // The operator reaches the fleet at 127.0.0.1; behind QEMU's NAT the box reaches the same socket at 10.0.2.2.
    t.equal(bootstrap.fleetUrl, fleet.hostUrl, 'the fleet URL the operator gave');
    fs.writeFileSync(file, JSON.stringify({ ...bootstrap, fleetUrl: fleet.guestUrl }));
    const stick = path.join(dir, 'stick.img');
    makeStick(stick, { 'diemcau-bootstrap.json': file });

    const disk = path.join(dir, 'disk.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image, '-F', 'raw', disk], { timeout: 30_000 });
    const vm = bootVm(t, { dir, disk, diskFormat: 'qcow2', serial: 'DMC-STICK-0001', stick, accel });
    await checkBox(t, fleet, vm, 'xa-mot', 'with a stick');
  });

  t.test('power on with no stick: a pre-registered serial enrols it', async (t) => {
    const dir = path.join(work, 'serial');
    fs.mkdirSync(dir);
    const serial = 'DMC-PRE-0002';
    const pre = await fleet.api('POST', '/api/v1/preregistrations', { serial, siteId: 'xa-hai' });
    t.ok(pre.status >= 200 && pre.status < 300, `pre-registered (${pre.status})`);
    // The image as a province writes it to its boxes' disks: the fleet's
    // address (no token) on the EFI partition, mounted at /boot/firmware.
    const disk = path.join(dir, 'disk.img');
    await run('cp', ['--sparse=always', image, disk], { timeout: 300_000 });
    const file = path.join(dir, 'diemcau-bootstrap.json');
    fs.writeFileSync(file, JSON.stringify({ v: 1, fleetUrl: fleet.guestUrl }));
    putOnEsp(disk, file, 'diemcau-bootstrap.json');
    const vm = bootVm(t, { dir, disk, diskFormat: 'raw', serial, accel });
    const device = await checkBox(t, fleet, vm, 'xa-hai', 'pre-registered serial');
    t.equal(device.serial, serial, 'enrolled with its DMI serial');
  });

  t.teardown(() => {
    if (figures.length > 0)
      process.stdout.write(`\n# image test figures\n${figures.map((f) => `#   ${f}`).join('\n')}\n`);
  });
}

/** Waits for the box online under siteId, checks its units, sends identify; returns the device. */
async function checkBox(t: Test, fleet: FleetProcess, vm: Vm, siteId: string, label: string): Promise<DeviceView> {
  const tail = () => {
    try {
      return fs.readFileSync(vm.consoleLog, 'utf8').split('\n').slice(-40).join('\n');
    } catch {
      return '(no console output)';
    }
  };
  let device: DeviceView;
  try {
    device = await waitFor(
      async () => {
        if (vm.child.exitCode !== null) throw new Error(`qemu exited (${vm.child.exitCode})`);
        const r = await fleet.api<{ items: DeviceView[] }>('GET', `/api/v1/devices?siteId=${siteId}`);
        return r.body.items.find((d) => d.online);
      },
      ONLINE_MS,
      `the box online under ${siteId}`,
      500,
    );
  } catch (err) {
    t.comment(`serial console:\n${tail()}`);
    t.comment(`fleet log:\n${fleet.logLines.slice(-15).join('\n')}`);
    throw err;
  }
  const onlineMs = Date.now() - vm.startedAt;
  figures.push(`${label}: power-on → online ${(onlineMs / 1000).toFixed(1)} s (${kvm ? 'KVM' : 'TCG'})`);
  t.comment(`${label}: power-on → online in ${(onlineMs / 1000).toFixed(1)} s`);
  t.equal(device.siteId, siteId, `online under ${siteId}`);
  t.equal(device.agentVersion, version, 'runs the release the image installed');

  // The units, as systemd on the box sees them (asked through the QEMU guest agent).
  let states: string[] = [];
  try {
    states = await waitFor(
      async () => {
        const r = await vm.qga.exec('/usr/bin/systemctl', ['is-active', ...UNITS]);
        const s = r.out.trim().split('\n');
        return s.every((x) => x === 'active') ? s : undefined;
      },
      UNITS_MS,
      `${UNITS.join(', ')} active`,
      2000,
    );
  } catch (err) {
    const status = await vm.qga
      .exec('/usr/bin/systemctl', ['status', '--no-pager', '--lines=15', ...UNITS])
      .catch((e: Error) => ({ out: e.message }));
    t.comment(`systemctl status:\n${status.out}`);
    throw err;
  }
  t.same(states, ['active', 'active', 'active'], 'agent, edge and kiosk units active');
  // Still active a little later: a unit in a restart loop would flap out of "active".
  const again = await vm.qga.exec('/usr/bin/systemctl', ['show', '--property=NRestarts', '--value', ...UNITS]);
  t.comment(`restarts since boot (agent, edge, kiosk): ${again.out.split('\n').filter(Boolean).join(', ')}`);
  const current = await vm.qga.exec('/usr/bin/readlink', ['/opt/diemcau/current']);
  t.equal(current.out.trim(), `versions/${version}`, "current → versions/<v>, the updater's layout");

  const sent = await fleet.api<CommandView>('POST', `/api/v1/devices/${device.id}/commands`, { type: 'identify' });
  t.equal(sent.status, 202, 'identify accepted');
  const done = await waitFor(
    async () => {
      const r = await fleet.api<CommandView>('GET', `/api/v1/commands/${sent.body.id}`);
      return ['succeeded', 'failed', 'expired', 'rejected'].includes(r.body.status) ? r.body : undefined;
    },
    60_000,
    'the identify command answered',
  );
  t.equal(done.status, 'succeeded', 'identify reached the box and it answered');
  return device;
}
