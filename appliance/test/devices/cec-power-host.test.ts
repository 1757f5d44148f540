import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { ProcessRunner } from '../../src/devices/process-runner.js';
import { cecNoAdapter, createCec, parseCecPower } from '../../src/devices/real/cec.js';
import { createRealDisplay } from '../../src/devices/real/display.js';
import { clean, createRealHost } from '../../src/devices/real/host.js';
import { createRealPower } from '../../src/devices/real/power.js';
import { recordingLog, tempDir, writeScript, writeTree } from './helpers.js';

// CEC, systemd and DMI through the real executors. Where this machine lacks
// the tool (cec-client) or must not use it (systemctl reboot), a small script
// stands in for it and records what it was asked, like a fixture sysfs tree.

t.test('cec-client output parsing', async (t) => {
  t.equal(parseCecPower('opening a connection to the CEC adapter...\npower status: on\n'), 'on');
  t.equal(parseCecPower('power status: standby'), 'standby');
  t.equal(parseCecPower('power status: in transition from standby to on'), 'on');
  t.equal(parseCecPower('power status: in transition from on to standby'), 'standby');
  t.equal(parseCecPower('power status: unknown'), 'unknown');
  t.equal(parseCecPower(''), 'unknown');
  t.ok(cecNoAdapter('autodetect FAILED'));
  t.notOk(cecNoAdapter('power status: on'));
});

t.test('no cec-client: TV power is unsupported, said once', async (t) => {
  const runner = new ProcessRunner();
  t.teardown(() => runner.close());
  const log = recordingLog();
  const dir = await tempDir(t);
  const sys = await writeTree(path.join(dir, 'sys'), {
    'class/drm/card0-HDMI-A-1/status': 'connected\n',
    'class/drm/card0-HDMI-A-1/modes': '1920x1080\n',
  });
  const cec = createCec({ bin: path.join(dir, 'no-cec-client'), runner, log });
  const display = createRealDisplay({ roots: { sys, proc: dir, dev: dir }, cec, log });
  t.equal(await display.setPower(true), 'unsupported');
  t.equal(await display.power(), 'unsupported');
  const h = await display.check();
  t.equal(h.state, 'ok', 'a connected TV without CEC is fine');
  t.equal(h.power, 'unsupported');
  t.equal(log.entries.filter((e) => /no HDMI-CEC/.test(e.msg ?? '')).length, 1);
});

t.test('with cec-client: power query, on and standby', async (t) => {
  const runner = new ProcessRunner();
  t.teardown(() => runner.close());
  const dir = await tempDir(t);
  const state = path.join(dir, 'tv');
  await fs.writeFile(state, 'standby');
  // Reads the command from stdin like cec-client -s does and keeps the TV's state in a file.
  const bin = await writeScript(
    path.join(dir, 'cec-client'),
    `read cmd
case "$cmd" in
  "on 0") echo on > ${state} ;;
  "standby 0") echo standby > ${state} ;;
  "pow 0") echo "power status: $(cat ${state})" ;;
esac
echo "args: $*" >&2`,
  );
  const log = recordingLog();
  const sys = await writeTree(path.join(dir, 'sys'), { 'class/drm/card0-HDMI-A-1/status': 'connected\n' });
  const display = createRealDisplay({ roots: { sys, proc: dir, dev: dir }, cec: createCec({ bin, runner, log }), log });
  t.equal(await display.power(), 'standby');
  t.equal((await display.check({ power: false })).state, 'fault', 'the quick check remembers the standby');
  await display.setPower(true);
  t.equal((await display.check({ power: false })).state, 'ok', 'and that the TV was turned on since');
  await display.setPower(false);
  const h = await display.check();
  t.equal(h.state, 'fault');
  t.equal(h.reason?.code, 'standby');
  t.equal(await display.setPower(true), 'done');
  t.equal(await display.power(), 'on');
  t.equal((await display.check({ power: false })).power, 'on', 'the quick check reuses the last answer');
  t.equal(await display.setPower(false), 'done');
  t.equal(await display.power(), 'standby');

  const noAdapter = await writeScript(path.join(dir, 'cec-none'), 'echo "autodetect FAILED"; exit 1');
  const d2 = createRealDisplay({
    roots: { sys, proc: dir, dev: dir },
    cec: createCec({ bin: noAdapter, runner, log }),
    log,
  });
  t.equal(await d2.setPower(true), 'unsupported', 'cec-client without an adapter');
});

t.test('power asks systemd: reboot with a journal message, agent restart without blocking', async (t) => {
  const runner = new ProcessRunner();
  t.teardown(() => runner.close());
  const dir = await tempDir(t);
  const calls = path.join(dir, 'calls');
  const systemctl = await writeScript(path.join(dir, 'systemctl'), `printf '%s|' "$@" >> ${calls}; echo >> ${calls}`);
  const power = createRealPower({ systemctl, agentUnit: 'diemcau-agent.service', runner, log: recordingLog() });
  const seen: string[] = [];
  power.onRequest((r) => seen.push(`${r.action}:${r.reason}`));
  await power.reboot('operator asked');
  await power.restartAgent('new settings');
  t.same((await fs.readFile(calls, 'utf8')).trim().split('\n'), [
    'reboot|--message=diemcau: operator asked|',
    'restart|--no-block|diemcau-agent.service|',
  ]);
  t.same(seen, ['reboot:operator asked', 'restart-agent:new settings']);

  const failing = await writeScript(path.join(dir, 'systemctl-fail'), 'echo "Access denied" >&2; exit 1');
  const p2 = createRealPower({ systemctl: failing, agentUnit: 'x.service', runner, log: recordingLog() });
  await t.rejects(p2.reboot('x'), { code: 'APPL_ERR_HARDWARE', message: /Access denied/ });
});

t.test('host summary from systeminformation on this machine', async (t) => {
  const s = await createRealHost(recordingLog()).summary();
  t.ok(s.os.length > 0, `os ${s.os}`);
  t.equal(s.arch, process.arch === 'x64' ? 'x64' : s.arch);
  t.ok(s.kernel.length > 0);
  t.equal(clean('Default string'), '', 'placeholder serials are not serials');
  t.equal(clean(' ABC123 '), 'ABC123');
});
