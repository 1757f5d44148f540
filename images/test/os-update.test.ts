// `npm run test:image`, an operating system update on the booted image: the
// host serves a signed package mirror with two snapshots (reachable from the
// VM at 10.0.2.2), the box has diemcau-os-probe 1.0 from the first, and an OS
// rollout of the second goes out through the fleet. The agent hands the
// snapshot to the image's root unit (diemcau-os-update.service, started
// through the polkit rule), apt-get upgrades the package to 1.1, Debian's
// /run/reboot-required (set here, as a kernel update's scripts set it) makes
// the box reboot by itself, and after the boot the agent checks its health
// and reports: the fleet shows the snapshot, the package changed and the
// rollout completed; dpkg on the VM says 1.1. Prints rollout → rebooting and
// rollout → applied.
import fs from 'node:fs';
import t from 'tap';
import type { OsStatus } from '@diemcau/shared';
import { startAptMirror, COMPONENT, SUITE, type PackageSpec } from '../../appliance/test/helpers/apt-repo.js';
import { enrolledBox, missingImage, since } from './scenario.js';
import { HOST_FROM_GUEST, waitFor } from './vm.js';

const probe = (version: string): PackageSpec => ({
  name: 'diemcau-os-probe',
  version,
  files: { '/usr/share/diemcau-os-probe/version': `${version}\n` },
});

const missing = missingImage();
if (missing) {
  t.fail(missing);
} else {
  t.test('an OS snapshot rolls out to the box, apt upgrades a package, the box reboots and reports it', async (t) => {
    const mirror = await startAptMirror();
    t.teardown(() => mirror.close());
    await mirror.publish('20261201', [probe('1.0')]);
    await mirror.publish('20261203', [probe('1.1')]);

    const box = await enrolledBox(t, 'DMC-OSUPD-0006');
    const first = await box.online(() => true, box.bootMs, 'the box online');
    const onlineS = since(box.vm.startedAt);
    // The TV's browser costs minutes of each boot under software emulation; apt does not need it.
    await box.hooks({ kiosk: false });

    // What the image had: the package from the first snapshot; the province's mirror key
    // beside Debian's, where the root unit reads its keyrings (it re-signs its snapshots).
    const deb = fs.readFileSync(await mirror.deb(probe('1.0'))).toString('base64');
    const key = fs.readFileSync(mirror.keyring).toString('base64');
    await box.sh(
      [
        'set -e',
        `echo '${deb}' | base64 -d > /tmp/probe.deb`,
        'dpkg -i /tmp/probe.deb >/dev/null',
        `echo '${key}' | base64 -d > /etc/diemcau/os-mirror-keyring.gpg`,
        "printf 'DIEMCAU_OS_KEYRINGS=/usr/share/keyrings/debian-archive-keyring.gpg,/etc/diemcau/os-mirror-keyring.gpg\\n' > /etc/diemcau/os-update.env",
        // A kernel or libc update's scripts leave this; here the test does.
        "echo '*** System restart required ***' > /run/reboot-required",
        'sync',
      ].join('\n'),
      60_000,
    );
    const version = async () => (await box.sh("dpkg-query -W -f='${Version}' diemcau-os-probe")).trim();
    t.equal(await version(), '1.0', 'the box has diemcau-os-probe 1.0');

    const rolloutAt = Date.now();
    const created = await box.fleet.api<{ id: string }>('POST', '/api/v1/rollouts', {
      os: {
        snapshot: '20261203',
        sources: [{ uri: mirror.snapshotUri('20261203', HOST_FROM_GUEST), suite: SUITE, components: [COMPONENT] }],
      },
      rootSiteId: 'xa-ba',
      rings: [{ name: 'all', select: { kind: 'rest' }, maxInFlight: 1 }],
      abort: { maxFailureRate: 1, minDevices: 1 },
      silentTimeoutMin: 60,
      meetingLeadMin: 0,
    });
    t.equal(created.status, 201, `OS rollout created ${JSON.stringify(created.body)}`);

    // apt runs, then the box restarts by itself for the "new kernel". A failure reported
    // instead ends the wait at once, with what the box's units said.
    let watching = true;
    const failed = waitFor(
      async () => {
        if (!watching) return null;
        const r = await box.fleet.api<OsStatus>('GET', `/api/v1/devices/${first.id}/os`);
        return r.status === 200 && r.body.state === 'failed' ? r.body : undefined;
      },
      box.bootMs,
      'an OS update failure',
      2000,
    );
    const outcome = await Promise.race([
      box.rebootedByItself(box.bootMs).then(() => 'rebooted' as const),
      failed.then((s) => s ?? ('stopped' as const)),
    ]);
    watching = false;
    if (outcome === 'stopped') throw new Error('unreachable: the failure watch stopped first');
    if (outcome !== 'rebooted') {
      const why = await box
        .sh(
          'ls -la /var/lib/diemcau/os; systemctl status --no-pager diemcau-os-update.service; ' +
            'journalctl -b --no-pager -o cat -u diemcau-os-update.service | tail -40; ' +
            "journalctl -b --no-pager -o cat -u diemcau-agent.service | grep -i -E 'os-update|polkit|apt' | tail -20",
          60_000,
        )
        .catch((err: Error) => err.message);
      t.fail(`the box reported the OS update failed: ${JSON.stringify(outcome.error)}\n${why}`);
      return;
    }
    await failed.catch(() => undefined);
    const rebootingS = since(rolloutAt);
    t.ok(
      mirror.requests.includes('/snapshots/20261203/dists/bookworm/InRelease'),
      "the box fetched the snapshot's signed index from the host's mirror",
    );
    const back = await box.online(() => true, box.bootMs, 'the box online after its reboot');
    t.equal(back.agentVersion, first.agentVersion, 'the agent itself did not change (its own runtime under versions/)');

    const os = await waitFor(
      async () => {
        const r = await box.fleet.api<OsStatus>('GET', `/api/v1/devices/${back.id}/os`);
        return r.status === 200 && r.body.state === 'applied' ? r.body : undefined;
      },
      300_000,
      'the OS update reported applied',
      2000,
    );
    const appliedS = since(rolloutAt);
    t.equal(os.current, '20261203', 'the fleet shows the snapshot');
    t.same(
      os.changed?.find((c) => c.package === 'diemcau-os-probe'),
      { package: 'diemcau-os-probe', from: '1.0', to: '1.1' },
      'and what apt changed',
    );
    t.equal(os.rebootRequired, true, 'with the reboot it took');
    t.equal(await version(), '1.1', 'dpkg on the box: diemcau-os-probe 1.1');
    t.equal(
      (await box.sh('test -e /run/reboot-required && echo yes || echo no')).trim(),
      'no',
      'the restart Debian asked for happened',
    );
    const state = await waitFor(
      async () => {
        await new Promise((r) => setTimeout(r, 1000));
        const s = (await box.fleet.api<{ state: string }>('GET', `/api/v1/rollouts/${created.body.id}`)).body.state;
        return s === 'running' ? undefined : s;
      },
      120_000,
      'the rollout to end',
      2000,
    ).catch(() => 'running');
    t.equal(state, 'completed', 'the rollout completed');

    const line =
      `OS update 20261201 → 20261203: power-on → online ${onlineS} s; rollout → box rebooting ${rebootingS} s; ` +
      `rollout → applied, reported after the boot ${appliedS} s (${box.accel.toUpperCase()})`;
    t.comment(line);
    t.teardown(() => void process.stdout.write(`\n# image OS update figures\n#   ${line}\n`));
  });
}
