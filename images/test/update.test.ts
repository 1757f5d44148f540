// `npm run test:image`, the update path on the booted image: a newer signed
// release is uploaded to the fleet and rolled out to the VM; the box
// downloads, verifies and installs it beside the old one, switches, the boot
// check commits it, and the fleet sees the new version; then the VM reboots
// for real and the box comes back online on the new version, with `previous`
// kept as its rollback target. The status LED (a simulated GPIO line) agrees
// with the box's state before and after (its "updating" rhythm is read in
// rollback.test.ts, where the update is held). Prints power-on → online,
// update → committed, and reboot → online.
import t from 'tap';
import { ledPatternFor } from '../../appliance/src/status/box-status.js';
import { enrolledBox, missingImage, patch, roomReady, since, version } from './scenario.js';
import { waitFor } from './vm.js';

interface JournalView {
  phase: string;
  outcome: { version: string; result: string } | null;
}

const missing = missingImage();
if (missing) {
  t.fail(missing);
} else {
  // One subtest: the root test would end (and tear the fleet down) at its first await otherwise.
  t.test('a signed update rolls out, is committed, then the box reboots and stays on it', async (t) => {
    const box = await enrolledBox(t, 'DMC-UPDATE-0003');
    const next = patch(1);
    // Built and uploaded as a release manager does, while the box boots.
    const built = box.release(next);
    built.catch(() => undefined);
    const first = await box.online(() => true, box.bootMs, 'the box online');
    const onlineS = since(box.vm.startedAt);
    t.equal(first.agentVersion, version, `online on ${version}`);
    await built;

    // The LED on a simulated line (the agent restarts once to drive it).
    await box.hooks({ led: true });
    const ready = roomReady(await box.online(() => true, box.bootMs, 'the box online after the agent restart'));
    const idle = await box.led();
    t.equal(
      idle.pattern,
      ledPatternFor('online', ready),
      `LED online (${ready ? 'room ready: steady' : 'room not ready under QEMU: the check-the-room blink'}) ${JSON.stringify(idle.sample)}`,
    );

    const rolloutAt = Date.now();
    const rollout = await box.rollout(next);

    const journal = async (): Promise<JournalView> =>
      JSON.parse(await box.sh('cat /var/lib/diemcau/ota/journal.json')) as JournalView;
    const committed = await waitFor(
      async () => {
        const j = await journal();
        return j.phase === 'idle' && j.outcome?.version === next && j.outcome.result === 'committed' ? j : undefined;
      },
      box.bootMs,
      `${next} committed`,
      2000,
    );
    const committedS = since(rolloutAt);
    t.equal(committed.outcome?.result, 'committed', `${next} committed by its boot check`);
    await box.online((d) => d.agentVersion === next, box.bootMs, `the fleet shows ${next}`);
    t.same(
      await box.links(),
      { current: next, previous: version },
      'current → the new version, previous → the old one',
    );
    const state = await waitFor(
      async () => ((await box.rolloutState(rollout)) === 'running' ? undefined : box.rolloutState(rollout)),
      120_000,
      'the rollout to end',
      2000,
    ).catch(() => 'running');
    t.equal(state, 'completed', 'the rollout completed');

    // A real reboot: the box comes back on the new version by itself.
    const rebootAt = Date.now();
    await box.reboot();
    const back = await box.online(() => true, box.bootMs, 'the box online again');
    const rebootS = since(rebootAt);
    t.equal(back.agentVersion, next, `back on ${next} after the reboot`);
    t.same(
      await waitFor(() => box.links().catch(() => undefined), 120_000, 'the guest agent after the reboot', 2000),
      { current: next, previous: version },
      'links kept across the reboot',
    );
    const after = await box.led();
    t.equal(
      after.pattern,
      ledPatternFor('online', roomReady(back)),
      `LED online again ${JSON.stringify(after.sample)}`,
    );

    const line =
      `update ${version} → ${next}: power-on → online ${onlineS} s; rollout → committed ${committedS} s; ` +
      `reboot → online ${rebootS} s (${box.accel.toUpperCase()})`;
    t.comment(line);
    t.teardown(() => void process.stdout.write(`\n# image update figures\n#   ${line}\n`));
  });
}
