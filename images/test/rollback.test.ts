// `npm run test:image`, a bad update across a real reboot: a signed release
// whose agent dies at every start (test/fixtures/broken-agent.ts) rolls out
// to the booted image; the updater switches to it and, stopped right after
// the link swap, the box is rebooted for real. After the reboot the new
// version fails its starts, the boot check counts them and points the link
// back, and the box is online on the old version again, with the failure
// reported to the fleet. The status LED (a simulated GPIO line) says
// "updating" while the update is held, and once the box is back on the old
// version what ledPatternFor('rolled-back', …) gives: the notice rhythm in a
// ready room, the error rhythm under QEMU (no camera, no TV: the room comes
// first). Prints reboot → back online on the old version.
import path from 'node:path';
import t from 'tap';
import { ledPatternFor } from '../../appliance/src/status/box-status.js';
import { enrolledBox, missingImage, patch, roomReady, since, version } from './scenario.js';
import { repo, waitFor } from './vm.js';
import type { Box } from './scenario.js';

/** What the TV's page says, asked from inside the box (the page answers its own loopback only). */
const tvPage = async (box: Box): Promise<string> =>
  (
    await box.sh(
      `/usr/bin/node -e "fetch('http://127.0.0.1:7443/kiosk/state').then(r=>r.json()).then(s=>console.log(s.status ?? 'no status'))" || echo unreachable`,
    )
  ).trim();

const missing = missingImage();
if (missing) {
  t.fail(missing);
} else {
  t.test('a release that cannot start is rolled back after a real reboot', async (t) => {
    const box = await enrolledBox(t, 'DMC-ROLLBACK-0004');
    const bad = patch(1);
    // Built while the box boots: the same agent, another entry.
    const built = box.release(bad, path.join(repo, 'images', 'test', 'fixtures', 'broken-agent.ts'));
    const first = await box.online(() => true, box.bootMs, 'the box online');
    t.equal(first.agentVersion, version, `online on ${version}`);
    await built;

    await box.hooks({ led: true, pauseAt: 'switched' });
    const ready = roomReady(await box.online(() => true, box.bootMs, 'the box online after the agent restart'));
    const idle = await box.led();
    t.equal(idle.pattern, ledPatternFor('online', ready), `LED online ${JSON.stringify(idle.sample)}`);
    const rolloutAt = Date.now();
    const rollout = await box.rollout(bad);
    await box.paused(box.bootMs);
    const switchedS = since(rolloutAt);
    t.same(await box.links(), { current: bad, previous: version }, `switched to ${bad}, ${version} kept as previous`);
    const updating = await box.led();
    t.equal(updating.pattern, 'updating', `LED updating while switching ${JSON.stringify(updating.sample)}`);

    // A real reboot, before the new version has run at all.
    const rebootAt = Date.now();
    await box.reboot();
    const back = await box.online(
      (d) => d.agentVersion === version,
      box.bootMs,
      `the box online on ${version} after the rollback`,
    );
    const rollbackS = since(rebootAt);
    t.equal(back.agentVersion, version, `back on ${version}`);
    const links = await waitFor(() => box.links().catch(() => undefined), box.bootMs, 'the guest agent', 2000);
    t.equal(links.current, version, `current → versions/${version} again`);
    const journal = JSON.parse(await box.sh('cat /var/lib/diemcau/ota/journal.json')) as {
      phase: string;
      outcome: { version: string; result: string; error?: { code: string; message: string } } | null;
      failed: { version: string }[];
    };
    t.equal(journal.phase, 'idle', 'journal idle');
    t.equal(journal.outcome?.result, 'rolled-back', 'outcome: rolled back');
    t.equal(journal.outcome?.error?.code, 'APPL_ERR_OTA_HEALTH', 'because of its health gate');
    t.match(journal.outcome?.error?.message ?? '', /no healthy start/, 'the boot check gave up on its starts');
    t.ok(
      journal.failed.some((f) => f.version === bad),
      `${bad} recorded as failed: not tried again`,
    );
    // After the reboot: the bad version's failed starts, counted by the boot check, then the old agent.
    const checks = await box.sh(`journalctl -b -u diemcau-agent -o cat | grep -c '"msg":"boot check"' || true`);
    t.ok(
      Number(checks.trim()) >= 4,
      `${checks.trim()} boot checks since the reboot (three failed starts, then the old agent)`,
    );
    const led = await box.led();
    if (led.why) t.comment(`the LED's line after the reboot:\n${led.why}`);
    t.equal(
      led.pattern,
      ledPatternFor('rolled-back', roomReady(back)),
      `LED says the update failed and was rolled back ${JSON.stringify(led.sample)}`,
    );
    // Under QEMU the room is never ready, and a room not ready outranks the notice of a rolled-back
    // update: the LED blinks the error rhythm either way. The TV's page, fed by the same state, tells
    // the two apart.
    const page = await waitFor(
      async () => ((await tvPage(box)) === 'rolled-back' ? 'rolled-back' : undefined),
      60_000,
      "the TV's page saying rolled back",
      2000,
    ).catch(() => tvPage(box));
    t.equal(page, 'rolled-back', `the TV's page says the update failed and the box went back to ${version}`);
    const state = await waitFor(
      async () => {
        const s = await box.rolloutState(rollout);
        return s === 'running' ? undefined : s;
      },
      120_000,
      'the rollout to end',
      2000,
    ).catch(() => 'running');
    t.comment(`rollout state: ${state}`);
    const line = `rollback ${version} → ${bad} → ${version}: rollout → switched ${switchedS} s; reboot → online on ${version} again ${rollbackS} s (${box.accel.toUpperCase()})`;
    t.comment(line);
    t.teardown(() => void process.stdout.write(`\n# image rollback figures\n#   ${line}\n`));
  });
}
