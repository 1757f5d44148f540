// `npm run test:image`, the update path on the booted image: a newer signed
// release is uploaded to the fleet and rolled out to the VM; the box
// downloads, verifies and installs it beside the old one, switches, and the
// fleet sees the new version; then the VM reboots for real and the box comes
// back online on the new version, with `previous` kept as its rollback target.
// Prints update → new version announced, and reboot → online.
import t from 'tap';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_TOKEN, bootVm, makeStick, pickAccel, repo, startFleet, waitFor } from './vm.js';

const run = promisify(execFile);
const version = (
  JSON.parse(fs.readFileSync(path.join(repo, 'appliance', 'package.json'), 'utf8')) as { version: string }
).version;
const image = process.env.DIEMCAU_IMAGE ?? path.join(repo, 'dist', 'image', `diemcau-box-${version}.img`);
const cacheRoot =
  process.env.DIEMCAU_CACHE_DIR ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'diemcau');
// The key the image's releases are signed with: the build's, or the development key image:build keeps.
const key = process.env.DIEMCAU_RELEASE_KEY ?? path.join(cacheRoot, 'image', 'dev-release-keys', 'dev-release.key');
const trusted =
  process.env.DIEMCAU_TRUSTED_KEYS ?? path.join(cacheRoot, 'image', 'dev-release-keys', 'trusted-keys.json');
const next = `${version.split('.').slice(0, 2).join('.')}.${Number(version.split('.')[2]) + 1}`;

interface DeviceView {
  id: string;
  online: boolean;
  agentVersion: string | null;
}

if (!fs.existsSync(image) || !fs.existsSync(key)) {
  t.fail(`needs the image (${image}) and its signing key (${key}): npm run image:build`);
} else {
  // One subtest: the root test would end (and tear the fleet down) at its first await otherwise.
  t.test('a signed update rolls out, then the box reboots and stays on it', async (t) => {
    const { accel } = await pickAccel();
    const kvm = accel === 'kvm';
    const BOOT_MS = kvm ? 300_000 : 1_800_000;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-image-update-'));
    t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
    const fleet = await startFleet(t, path.join(work, 'fleet'), { DIEMCAU_OTA_TRUSTED_KEYS: trusted });
    t.equal(
      (
        await fleet.api('POST', '/api/v1/sites/import', {
          sites: [
            { id: 'huyen-thu', name: 'Huyện Thử', kind: 'district', parentId: null },
            { id: 'xa-ba', name: 'Xã Ba', kind: 'commune', parentId: 'huyen-thu' },
          ],
        })
      ).status,
      200,
    );

    // The newer release, built and uploaded as a release manager does.
    await run(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repo, 'provisioning', 'src', 'release', 'build-cli.ts'),
        '--key',
        key,
        '--version',
        next,
        '--out',
        path.join(work, 'rel'),
        '--upload',
        fleet.hostUrl,
        '--token',
        ADMIN_TOKEN,
      ],
      { cwd: repo, timeout: 120_000 },
    );

    const dir = path.join(work, 'vm');
    fs.mkdirSync(dir);
    await run(
      process.execPath,
      [
        '--import',
        'tsx',
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
      { cwd: repo, timeout: 60_000 },
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
    const vm = bootVm(t, { dir, disk, diskFormat: 'qcow2', serial: 'DMC-UPDATE-0003', stick, accel });
    const device = async (): Promise<DeviceView | undefined> =>
      (await fleet.api<{ items: DeviceView[] }>('GET', '/api/v1/devices?siteId=xa-ba')).body.items[0];
    const first = await waitFor(
      async () => ((await device())?.online ? device() : undefined),
      BOOT_MS,
      'the box online',
      1000,
    );
    t.equal(first.agentVersion, version, `online on ${version}`);

    const rolloutAt = Date.now();
    const rollout = await fleet.api<{ id: string }>('POST', '/api/v1/rollouts', {
      release: next,
      rootSiteId: 'xa-ba',
      rings: [{ name: 'all', select: { kind: 'rest' }, maxInFlight: 1 }],
      abort: { maxFailureRate: 1, minDevices: 1 },
      silentTimeoutMin: 30,
      meetingLeadMin: 0,
    });
    t.equal(rollout.status, 201, 'rollout created');
    await waitFor(
      async () => ((await device())?.agentVersion === next ? true : undefined),
      BOOT_MS,
      `the box on ${next}`,
      1000,
    );
    const updateS = (Date.now() - rolloutAt) / 1000;
    const links = async () =>
      (await vm.qga.exec('/bin/sh', ['-c', 'readlink /opt/diemcau/current; readlink /opt/diemcau/previous'])).out
        .trim()
        .split('\n');
    t.same(
      await links(),
      [`versions/${next}`, `versions/${version}`],
      'current → the new version, previous → the old one',
    );

    // A real reboot: the box comes back on the new version by itself.
    const rebootAt = Date.now();
    await vm.qga.exec('/usr/bin/systemctl', ['reboot']).catch(() => undefined);
    await waitFor(
      async () => ((await device())?.online === false ? true : undefined),
      180_000,
      'the box offline while rebooting',
      500,
    );
    const back = await waitFor(
      async () => ((await device())?.online ? device() : undefined),
      BOOT_MS,
      'the box online again',
      1000,
    );
    const rebootS = (Date.now() - rebootAt) / 1000;
    t.equal(back!.agentVersion, next, `back on ${next} after the reboot`);
    t.same(
      await waitFor(() => links().catch(() => undefined), 120_000, 'the guest agent after the reboot', 2000),
      [`versions/${next}`, `versions/${version}`],
      'links kept across the reboot',
    );
    const line = `update ${version} → ${next}: rollout → new version announced ${updateS.toFixed(1)} s; reboot → online ${rebootS.toFixed(1)} s (${kvm ? 'KVM' : 'TCG'})`;
    t.comment(line);
    t.teardown(() => void process.stdout.write(`\n# image update figures\n#   ${line}\n`));
  });
}
