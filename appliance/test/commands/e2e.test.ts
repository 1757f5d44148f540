// Remote commands end to end, with real programs: the fleet (fleet/src/main.ts)
// and agents (appliance/src/main.ts, simulated hardware), each its own process,
// talking over HTTP and MQTT on 127.0.0.1 as they would in a province.
import t from 'tap';
import {
  alertsFor,
  mintToken,
  startAgent,
  startFleet,
  tempDir,
  until,
  type AgentProc,
  type Fleet,
} from '../e2e/procs.js';

interface CommandView {
  id: string;
  status: string;
  attempts: number;
  force: { reason: string } | null;
  result: { status: string; output?: unknown; error?: { code: string } } | null;
}
interface AuditItem {
  action: string;
  target: string | null;
  outcome: string | null;
  details: Record<string, unknown> | null;
}
interface SiteRow {
  id: string;
  kind: string;
  parentId: string | null;
}

const logLines = (a: AgentProc): Record<string, unknown>[] =>
  a
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });

const command = (fleet: Fleet, id: string) => fleet.api<CommandView>('GET', `/api/v1/commands/${id}`);
const finished = (fleet: Fleet, id: string) =>
  until(
    `command ${id} to finish`,
    async () => {
      const c = await command(fleet, id);
      return ['succeeded', 'failed', 'rejected', 'expired'].includes(c.status) ? c : undefined;
    },
    60_000,
  );
const online = (fleet: Fleet, deviceId: string, want = true) =>
  until(
    `${deviceId} ${want ? 'online' : 'offline'}`,
    async () => (await fleet.api<{ online: boolean }>('GET', `/api/v1/devices/${deviceId}`)).online === want,
    60_000,
  );
const selfTestsFor = async (fleet: Fleet, deviceId: string, commandId: string) =>
  (
    await fleet.api<{ items: { commandId: string | null }[] }>(
      'GET',
      `/api/v1/devices/${deviceId}/self-tests?limit=100`,
    )
  ).items.filter((s) => s.commandId === commandId).length;

t.test('remote commands across real processes', async (t) => {
  const fleet = await startFleet(t, { dataDir: tempDir(t, 'fleet') });
  const sites = (await fleet.api<{ items: SiteRow[] }>('GET', '/api/v1/sites')).items;
  const [district, otherDistrict] = sites.filter((s) => s.kind === 'district');
  const communes = sites.filter((s) => s.parentId === district!.id);
  const outside = sites.find((s) => s.parentId === otherDistrict!.id)!;
  const agentAt = async (siteId: string, env: Record<string, string> = {}) => {
    const a = startAgent(t, {
      fleetUrl: fleet.url,
      dataDir: tempDir(t, 'agent'),
      token: await mintToken(fleet, siteId),
      env: { DIEMCAU_KEEPALIVE_SEC: '2', ...env },
    });
    const id = await a.deviceId();
    await online(fleet, id);
    return { a, id };
  };

  await t.test('sent while the agent is down: delivered when it returns, run once even when redelivered', async (t) => {
    const first = await agentAt(communes[0]!.id);
    first.a.kill('SIGTERM');
    await first.a.exited;
    await online(fleet, first.id, false);

    const sent = await fleet.api<CommandView>('POST', `/api/v1/devices/${first.id}/commands`, { type: 'self-test' });
    t.equal(sent.status, 'queued');
    const again = startAgent(t, { fleetUrl: fleet.url, dataDir: first.a.dataDir, env: { DIEMCAU_KEEPALIVE_SEC: '2' } });
    const done = await finished(fleet, sent.id);
    t.equal(done.status, 'succeeded');
    t.equal(await selfTestsFor(fleet, first.id, sent.id), 1, 'the self-test it ran is in the history');

    // A silent link loss while the command is on the wire: the agent is frozen,
    // the broker writes the command into its socket, drops the session at
    // keepalive expiry, and sends the command again when the agent resubscribes.
    again.kill('SIGSTOP');
    const second = await fleet.api<CommandView>('POST', `/api/v1/devices/${first.id}/commands`, { type: 'self-test' });
    await until(
      'handed to the frozen agent',
      async () => (await command(fleet, second.id)).status === 'delivered',
      30_000,
    );
    await online(fleet, first.id, false);
    again.kill('SIGCONT');
    const twice = await finished(fleet, second.id);
    t.equal(twice.status, 'succeeded');
    t.ok(twice.attempts >= 2, `the fleet sent it ${twice.attempts} times`);
    await until(
      'the replayed answer in the agent log',
      async () =>
        logLines(again).some((l) => l.msg === 'duplicate command answered from the store' && l.commandId === second.id),
      30_000,
    );
    const ran = logLines(again).filter((l) => l.msg === 'running command' && l.commandId === second.id);
    t.equal(ran.length, 1, 'ran once');
    t.equal(await selfTestsFor(fleet, first.id, second.id), 1, 'one self-test for it in the history');

    const audit = (await fleet.api<{ items: AuditItem[] }>('GET', `/api/v1/audit?target=device:${first.id}`)).items;
    t.ok(
      audit.some((e) => e.action === 'command.self-test' && e.details?.commandId === sent.id),
      'issue audited',
    );
    t.ok(
      audit.some(
        (e) => e.action === 'command.self-test.result' && e.outcome === 'succeeded' && e.details?.commandId === sent.id,
      ),
      'result audited',
    );
  });

  await t.test('a subtree command reaches every device under a district', async (t) => {
    const inside = await Promise.all([agentAt(district!.id), agentAt(communes[1]!.id), agentAt(communes[2]!.id)]);
    const far = await agentAt(outside.id);
    const batch = await fleet.api<{ batchId: string; items: { commandId: string; deviceId: string }[] }>(
      'POST',
      `/api/v1/sites/${district!.id}/commands`,
      { type: 'identify' },
    );
    const targeted = batch.items.map((i) => i.deviceId);
    for (const d of inside) t.ok(targeted.includes(d.id), `${d.id} targeted`);
    t.notOk(targeted.includes(far.id), 'the other district is left alone');
    for (const item of batch.items.filter((i) => inside.some((d) => d.id === i.deviceId))) {
      const r = await finished(fleet, item.commandId);
      t.equal(r.status, 'succeeded');
      t.match(r.result?.output, { code: /^[A-Z2-9]{4}$/ });
    }
    t.same((await fleet.api<{ items: unknown[] }>('GET', `/api/v1/devices/${far.id}/commands`)).items, []);
  });

  await t.test('a forced reboot during a live meeting runs and is audited with its reason', async (t) => {
    const box = await agentAt(communes[3]!.id);
    const meeting = await fleet.api<{ id: string }>('POST', '/api/v1/meetings', {
      title: 'Giao ban tuần',
      chairSiteId: district!.id,
      siteIds: [communes[3]!.id],
    });
    const refused = await fetch(`${fleet.url}/api/v1/devices/${box.id}/commands`, {
      method: 'POST',
      headers: { authorization: 'Bearer e2e-admin-token-0123456789abcdef', 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'reboot' }),
    });
    t.equal(refused.status, 409);
    t.equal(((await refused.json()) as { code: string }).code, 'FLEET_ERR_SITE_IN_MEETING');
    const reason = 'audio loop in the room; chair approved';
    const forced = await fleet.api<CommandView>('POST', `/api/v1/devices/${box.id}/commands`, {
      type: 'reboot',
      force: { reason },
    });
    const r = await finished(fleet, forced.id);
    t.equal(r.status, 'succeeded');
    t.match(r.result?.output, { requested: 'reboot' });
    t.ok(
      logLines(box.a).some((l) => l.msg === 'running command' && l.commandId === forced.id && l.forced === reason),
      'the agent saw the reason',
    );
    const audit = (await fleet.api<{ items: AuditItem[] }>('GET', `/api/v1/audit?target=device:${box.id}`)).items;
    t.match(
      audit.find((e) => e.action === 'command.reboot' && e.outcome === 'forced'),
      { details: { forceReason: reason, liveMeeting: true, commandId: forced.id } },
    );
    t.ok(
      audit.some((e) => e.action === 'command.reboot' && e.outcome === 'refused'),
      'the refusal too',
    );
    t.match(
      audit.find((e) => e.action === 'command.reboot.result'),
      { outcome: 'succeeded', details: { forceReason: reason } },
    );
    await fleet.api('POST', `/api/v1/meetings/${meeting.id}/end`, {});
  });

  await t.test(
    'restart-agent: the agent exits for its service manager, and the restarted agent does not restart again',
    async (t) => {
      const box = await agentAt(communes[5]!.id);
      const sent = await fleet.api<CommandView>('POST', `/api/v1/devices/${box.id}/commands`, {
        type: 'restart-agent',
      });
      const exit = await box.a.exited;
      t.equal(exit.code, 75, 'exit code the unit restarts on');
      // This test is the service manager: start the same box again.
      const next = startAgent(t, { fleetUrl: fleet.url, dataDir: box.a.dataDir, env: { DIEMCAU_KEEPALIVE_SEC: '2' } });
      const done = await finished(fleet, sent.id);
      t.equal(done.status, 'succeeded');
      await online(fleet, box.id);
      t.equal(
        logLines(next).filter((l) => l.msg === 'running command' && l.commandId === sent.id).length,
        0,
        'not run again by the new agent',
      );
      t.equal(next.child.exitCode, null, 'the new agent keeps running');
    },
  );

  await t.test('simulated faults open the right alerts and fixing them resolves them', async (t) => {
    const site = communes[4]!.id;
    const faulty = await agentAt(site, { DIEMCAU_SIM_FAULTS: 'camera-unplugged,mic-muted' });
    const openTypes = async () => (await alertsFor(fleet, 'open', faulty.id)).map((a) => a.type).sort();
    await until('camera-missing', async () => (await openTypes()).includes('camera-missing'), 30_000);
    const test1 = await fleet.api<CommandView>('POST', `/api/v1/devices/${faulty.id}/commands`, { type: 'self-test' });
    await finished(fleet, test1.id);
    await until('microphone-silent', async () => (await openTypes()).includes('microphone-silent'), 30_000);
    t.same(await openTypes(), ['camera-missing', 'microphone-silent']);

    // The technician plugs the camera in and unmutes the microphone: same box, no faults.
    faulty.a.kill('SIGTERM');
    await faulty.a.exited;
    const fixed = startAgent(t, {
      fleetUrl: fleet.url,
      dataDir: faulty.a.dataDir,
      env: { DIEMCAU_KEEPALIVE_SEC: '2' },
    });
    await until('camera-missing resolved', async () => !(await openTypes()).includes('camera-missing'), 30_000);
    t.same(await openTypes(), ['microphone-silent'], 'silence is only cleared by a self-test');
    const test2 = await fleet.api<CommandView>('POST', `/api/v1/devices/${faulty.id}/commands`, { type: 'self-test' });
    await finished(fleet, test2.id);
    await until('all resolved', async () => (await openTypes()).length === 0, 30_000);
    const resolved = (await alertsFor(fleet, 'resolved', faulty.id)).map((a) => a.type);
    t.ok(resolved.includes('camera-missing') && resolved.includes('microphone-silent'));
    t.ok(fixed.output().length > 0);
  });
});
