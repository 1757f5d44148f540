// The commands pipeline of one agent (createAgentCommands) over the simulated
// hardware: what each command does to the hardware, what it answers, and what
// it leaves on disk.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import {
  commandResultCodec,
  healthCodec,
  type Command,
  type CommandResult,
  type SelfTestResult,
} from '@diemcau/shared';
import { createHardware } from '../../src/devices/index.js';
import { createAgentCommands, type IdentifyCard } from '../../src/commands/index.js';
import { shortCode } from '../../src/commands/handlers.js';

const log = pino({ level: 'silent' });

async function setup(t: Test, opts: { media?: boolean } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-cmds-'));
  const hardware = await createHardware({
    kind: 'simulated',
    log,
    options: { capture: { seconds: 0.2, warmupSeconds: 0 } },
  });
  const sent: { channel: string; payload: string }[] = [];
  const cards: IdentifyCard[] = [];
  const restarts: string[] = [];
  const mediaRestarts: string[] = [];
  const cmds = createAgentCommands({
    dataDir,
    log,
    fsync: false,
    hardware,
    media: opts.media === false ? null : { restart: async (reason) => void mediaRestarts.push(reason) },
    kiosk: { showIdentify: (card) => void cards.push(card) },
    site: () => ({ deviceId: 'dev-abc', siteName: 'Xã An Phú' }),
    publishDurable: async (channel, payload) => void sent.push({ channel, payload }),
    requestAgentRestart: (reason) => void restarts.push(reason),
    identifyMs: 50,
  });
  t.teardown(async () => {
    cmds.close();
    await hardware.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const results = (): CommandResult[] =>
    sent
      .filter((s) => s.channel === 'command-results')
      .map((s) => {
        const d = commandResultCodec.decode(s.payload);
        if (!d.ok) throw d.error;
        return d.value;
      });
  const run = async (type: Command['type'], params: Record<string, unknown> = {}, extra: Partial<Command> = {}) => {
    const id = `cmd-${type}-${Math.random().toString(36).slice(2, 8)}`;
    const c: Command = {
      v: 1,
      id,
      type,
      params,
      issuedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      ...extra,
    };
    await cmds.onMessage(Buffer.from(JSON.stringify(c)));
    return results().find((r) => r.commandId === id)!;
  };
  return { dataDir, hardware, sent, cards, restarts, mediaRestarts, cmds, run, results };
}

t.test('identify: the site name and a short code on the TV, the LED blinking', async (t) => {
  const s = await setup(t);
  const r = await s.run('identify');
  t.equal(r.status, 'succeeded');
  t.same(s.cards, [{ siteName: 'Xã An Phú', code: shortCode('dev-abc'), ms: 50 }]);
  t.match(r.output, { siteName: 'Xã An Phú', code: shortCode('dev-abc'), led: true });
  t.match(shortCode('dev-abc'), /^[A-Z2-9]{4}$/);
});

t.test('self-test: the full result goes out on health, the summary in the answer', async (t) => {
  const s = await setup(t);
  s.hardware.faults.inject('mic-muted');
  const r = await s.run('self-test');
  t.equal(r.status, 'succeeded', 'the command worked even though the room has a problem');
  const health = s.sent.filter((x) => x.channel === 'health').map((x) => healthCodec.decode(x.payload));
  t.equal(health.length, 1);
  const h = health[0]!;
  t.ok(h.ok);
  const st = (h.ok ? h.value : null) as SelfTestResult;
  t.equal(st.kind, 'self-test');
  t.equal(st.commandId, r.commandId, 'the health report names the command');
  t.equal(st.microphone.reason?.code, 'silent');
  t.match(r.output, { ok: false, peripherals: { microphone: 'fault' } });
});

t.test('set-config: validated, stored, announced; a bad one is rejected with every problem', async (t) => {
  const s = await setup(t);
  const heard: unknown[] = [];
  s.cmds.settings.onChange((x) => heard.push(x));
  const ok = await s.run('set-config', { telemetryIntervalSec: 30 });
  t.equal(ok.status, 'succeeded');
  t.same(heard, [{ telemetryIntervalSec: 30 }]);
  t.same(
    JSON.parse(fs.readFileSync(path.join(s.dataDir, 'settings.json'), 'utf8')),
    { telemetryIntervalSec: 30 },
    'survives a restart',
  );
  const bad = await s.run('set-config', { telemetryIntervalSec: 0, wifiPassword: 'x' });
  t.equal(bad.status, 'rejected');
  t.equal(bad.error?.code, 'APPL_ERR_COMMAND_PARAMS');
  t.match(bad.error?.message, /telemetryIntervalSec/);
  t.same(s.cmds.settings.get(), { telemetryIntervalSec: 30 }, 'nothing of the bad one applied');
  t.equal((await s.run('set-config', {})).status, 'rejected', 'an empty change is refused');
});

t.test('reboot asks the power interface with the reason; restart-agent restarts after answering', async (t) => {
  const s = await setup(t);
  const r = await s.run('reboot', {}, { force: { reason: 'frozen camera' } });
  t.equal(r.status, 'succeeded');
  t.equal(s.hardware.powerRequests.length, 1);
  t.match(s.hardware.powerRequests[0], { action: 'reboot', reason: /frozen camera/ });
  const a = await s.run('restart-agent');
  t.equal(a.status, 'succeeded');
  t.equal(s.restarts.length, 1);
  t.match(s.restarts[0], new RegExp(a.commandId));
});

t.test('restart-media restarts the edge, or says there is none', async (t) => {
  const s = await setup(t);
  t.equal((await s.run('restart-media')).status, 'succeeded');
  t.equal(s.mediaRestarts.length, 1);
  const bare = await setup(t, { media: false });
  const r = await bare.run('restart-media');
  t.equal(r.status, 'rejected');
  t.equal(r.error?.code, 'APPL_ERR_MEDIA');
});

t.test('settings reach their targets at start (they outlive restarts) and on every change', async (t) => {
  const s = await setup(t);
  await s.run('set-config', { telemetryIntervalSec: 45 });
  const { createSettingsStore, bindSettings } = await import('../../src/commands/settings.js');
  const reopened = createSettingsStore(path.join(s.dataDir, 'settings.json'));
  const seen: unknown[] = [];
  const off = bindSettings(reopened, {
    telemetryIntervalSec: (sec) => seen.push(['interval', sec]),
    logLevel: (l) => seen.push(['level', l]),
  });
  t.same(seen, [['interval', 45]], 'the stored interval applies when the agent starts again');
  reopened.apply({ logLevel: 'debug' });
  t.same(seen.slice(1), [
    ['interval', 45],
    ['level', 'debug'],
  ]);
  off();
  reopened.apply({ telemetryIntervalSec: 5 });
  t.equal(seen.length, 3, 'unbound: no more calls');
});
