// `npm run test:image`, the power-cut fault matrix on the booted image: for
// each step of an update, a newer signed release rolls out, the updater is
// stopped at that step by its pause hook (a trigger file on the box, named
// checkpoints in the executor), and the VM is killed outright: no shutdown,
// whatever the guest had not written to its disk is lost. The same disk boots
// again; the box must come back online on a working version (the old or the
// new one), then settle on the new one with the update committed. After
// enrolment the TV's browser (cage, Chromium) is kept off: the updater does not
// depend on it, and under software emulation it costs minutes of every boot;
// the TV's page itself (served by the edge) is still read.
// DIEMCAU_FAULT_STEPS=name,name runs some steps only (each cut costs a boot:
// several minutes under software emulation). Prints one row per cut.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { enrolledBox, missingImage, patch, since, version, type Box } from './scenario.js';
import { sleep, waitFor } from './vm.js';

interface Step {
  name: string;
  /** The executor's checkpoint the updater stops at before the cut. */
  checkpoint?: string;
  /** Cut while the box reboots (after the stop, a reboot; the cut once the kernel boots again). */
  reboot?: true;
  /** Cut right after the journal records the commit. */
  afterCommit?: true;
}

const ALL: Step[] = [
  { name: 'downloading', checkpoint: 'download-progress' },
  { name: 'verifying', checkpoint: 'verifying' },
  { name: 'unpacking', checkpoint: 'unpacked' },
  { name: 'link-swap', checkpoint: 'previous-linked' },
  { name: 'restarting', checkpoint: 'switched' },
  { name: 'rebooting', checkpoint: 'switched', reboot: true },
  { name: 'boot-check', checkpoint: 'health-check' },
  { name: 'after-commit', afterCommit: true },
];
const only = process.env.DIEMCAU_FAULT_STEPS?.split(',').map((s) => s.trim());
const steps = only ? ALL.filter((s) => only.includes(s.name)) : ALL;

interface JournalView {
  phase: string;
  outcome: { version: string; result: string } | null;
}
const journal = async (box: Box): Promise<JournalView> =>
  JSON.parse(await box.sh('cat /var/lib/diemcau/ota/journal.json 2>/dev/null || echo "{}"')) as JournalView;

/** What the TV's page says, asked from inside the box (the page answers its own loopback only). */
const kiosk = async (box: Box): Promise<string> => {
  const out = await box.sh(
    `/usr/bin/node -e "fetch('http://127.0.0.1:7443/kiosk/state').then(r=>r.json()).then(s=>console.log(s.status ?? 'no status'))" || echo unreachable`,
  );
  return out.trim();
};

/** The version directory the media edge runs from (its working directory). */
const edgeRunsFrom = async (box: Box): Promise<string> =>
  path.basename(
    (await box.sh('readlink /proc/$(systemctl show -p MainPID --value diemcau-edge.service)/cwd || true')).trim(),
  );

const missing = missingImage();
if (missing) {
  t.fail(missing);
} else if (steps.length === 0) {
  t.fail(`DIEMCAU_FAULT_STEPS names no step of ${ALL.map((s) => s.name).join(', ')}`);
} else {
  t.test('a power cut at each step of an update leaves a working box', async (t) => {
    const box = await enrolledBox(t, 'DMC-FAULTS-0005');
    // Built while the box boots; one newer release per cut.
    const built = (async () => {
      for (const [i] of steps.entries()) await box.release(patch(i + 1));
    })();
    built.catch(() => undefined);
    const first = await box.online(() => true, box.bootMs, 'the box online');
    t.equal(first.agentVersion, version, `online on ${version}`);
    await built;

    const rows: string[] = [];
    let recoveries = 0;
    let from = version;
    for (const [i, step] of steps.entries()) {
      const to = patch(i + 1);
      if (step.checkpoint) await box.hooks({ pauseAt: step.checkpoint, kiosk: false });
      else if (i === 0) await box.hooks({ kiosk: false });
      const rolloutAt = Date.now();
      await box.rollout(to);
      if (step.checkpoint) await box.paused(box.bootMs);
      if (step.afterCommit)
        await waitFor(
          async () => {
            const j = await journal(box);
            return j.phase === 'idle' && j.outcome?.version === to && j.outcome.result === 'committed'
              ? true
              : undefined;
          },
          box.bootMs,
          `${to} committed`,
          1000,
        );
      // With no cut before it, this is the plain update: the rollout to the new version committed.
      if (step.afterCommit) t.comment(`${to}: rollout → committed in ${since(rolloutAt)} s, before the cut`);
      const at = await journal(box);
      // The TV's page (served by the edge) says "updating" while the update is stopped.
      const tv =
        step.checkpoint && !step.reboot
          ? await waitFor(
              async () => ((await kiosk(box)) === 'updating' ? 'updating' : undefined),
              90_000,
              'the TV',
              3000,
            ).catch(() => kiosk(box))
          : '-';
      if (tv !== '-') t.equal(tv, 'updating', `the TV says updating while ${step.name}`);
      const linksAtCut = await box.links();
      if (step.reboot) {
        // Cut while the kernel boots again: the new power-on's console shows "Linux version".
        await box.reboot();
        await waitFor(
          async () => (fs.readFileSync(box.vm.consoleLog, 'utf8').includes('Linux version') ? true : undefined),
          box.bootMs,
          'the kernel booting again',
          500,
        );
        await sleep(2000);
      }
      const cutAt = Date.now();
      await box.powerCut();
      await box.offline(120_000);
      const back = await box.online(
        (d) => d.agentVersion === from || d.agentVersion === to,
        box.bootMs,
        `the box online after the cut while ${step.name}`,
      );
      const backS = since(cutAt);
      // Then the update finishes by itself: the new version, committed.
      await box.online((d) => d.agentVersion === to, box.bootMs, `the box on ${to}`);
      const settled = await waitFor(
        async () => {
          const j = await journal(box);
          return j.phase === 'idle' && j.outcome?.version === to && j.outcome.result === 'committed' ? j : undefined;
        },
        box.bootMs,
        `${to} committed after the cut`,
        2000,
      );
      const links = await box.links();
      const unit = (await box.sh('systemctl is-active diemcau-agent || true')).trim();
      // The edge follows the agent onto the new version (restarted at the trial start).
      const edge = await waitFor(
        async () => ((await edgeRunsFrom(box)) === to ? to : undefined),
        120_000,
        `the edge on ${to}`,
        2000,
      ).catch(() => edgeRunsFrom(box));
      t.equal(edge, to, `the edge runs ${to} too`);
      const tvAfter = await waitFor(
        async () => ((await kiosk(box)) === 'online' ? 'online' : undefined),
        90_000,
        'the TV online',
        3000,
      ).catch(() => kiosk(box));
      t.equal(tvAfter, 'online', 'the TV says online');
      const ok = settled.outcome?.result === 'committed' && links.current === to && unit === 'active';
      t.ok(ok, `cut while ${step.name}: back online on ${back.agentVersion}, then ${to} committed`);
      if (ok) recoveries++;
      const row = `${step.name.padEnd(13)} journal ${at.phase.padEnd(11)} current ${linksAtCut.current.padEnd(6)} TV ${tv.padEnd(9)} → online on ${back.agentVersion} in ${backS} s, ${to} committed ${since(rolloutAt)} s after its rollout (load ${os.loadavg()[0]!.toFixed(1)})`;
      rows.push(row);
      // Each cut as it ends: a long run stopped part-way still tells what it showed.
      t.comment(`cut ${i + 1} of ${steps.length}: ${row}`);
      process.stderr.write(`# fault matrix, cut ${i + 1} of ${steps.length}: ${row}\n`);
      from = to;
    }
    const summary = `${steps.length} cuts, ${recoveries} recoveries (${box.accel.toUpperCase()}); not run: ${
      ALL.filter((s) => !steps.includes(s))
        .map((s) => s.name)
        .join(', ') || 'none'
    }`;
    t.comment(summary);
    t.teardown(
      () =>
        void process.stdout.write(`\n# image fault matrix\n${[...rows, summary].map((r) => `#   ${r}`).join('\n')}\n`),
    );
  });
}
