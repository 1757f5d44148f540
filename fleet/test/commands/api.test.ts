// The commands API against a real fleet: embedded broker, SQLite file, and
// MQTT clients standing in for devices (they PUBACK and answer like an agent).
import t from 'tap';
import type { MqttClient } from 'mqtt';
import { deviceTopic, type Command, type EnrolResponse, type Site } from '@diemcau/shared';
import { connectDevice, startTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';

interface CommandView {
  id: string;
  status: string;
  attempts: number;
  deviceId: string;
  siteId: string;
  force: { reason: string } | null;
  result: { status: string } | null;
}
interface AuditItem {
  action: string;
  target: string | null;
  outcome: string | null;
  operatorId: string | null;
  details: Record<string, unknown> | null;
}

/** A device that collects the commands it hears after subscribing. */
async function listen(
  t: Parameters<typeof connectDevice>[0],
  creds: EnrolResponse,
): Promise<{ client: MqttClient; heard: Command[] }> {
  const client = await connectDevice(t, creds);
  const heard: Command[] = [];
  client.on('message', (_topic, payload) => heard.push(JSON.parse(payload.toString()) as Command));
  await client.subscribeAsync(deviceTopic(creds.deviceId, 'commands'), { qos: 1 });
  return { client, heard };
}

const answer = (client: MqttClient, deviceId: string, commandId: string, status = 'succeeded') =>
  client.publishAsync(
    deviceTopic(deviceId, 'command-results'),
    JSON.stringify({ v: 1, commandId, status, at: new Date().toISOString(), output: { ok: true } }),
    { qos: 1 },
  );

async function districtWithCommunes(f: TestFleet, skip: string[] = []): Promise<{ district: Site; communes: Site[] }> {
  const sites = (await f.api<{ items: Site[] }>('GET', '/api/v1/sites')).body.items;
  const district = sites.find((s) => s.kind === 'district' && !skip.includes(s.id))!;
  return { district, communes: sites.filter((s) => s.parentId === district.id) };
}

t.test('queued while offline, delivered on connect, re-sent until answered, result and audit stored', async (t) => {
  const f = await startTestFleet(t);
  const { communes } = await districtWithCommunes(f);
  const dev = await f.enrol(communes[0]!.id);

  const sent = await f.api<CommandView>('POST', `/api/v1/devices/${dev.deviceId}/commands`, {
    body: { type: 'identify' },
  });
  t.equal(sent.status, 202);
  t.equal(sent.body.status, 'queued', 'nobody listening yet');

  // First connection: hears it, acknowledges (QoS 1), but goes away without answering.
  const first = await listen(t, dev);
  await waitFor(() => first.heard.length > 0, 5000, 'first delivery');
  t.equal(first.heard[0]!.id, sent.body.id);
  await waitFor(
    async () => (await f.api<CommandView>('GET', `/api/v1/commands/${sent.body.id}`)).body.status === 'delivered',
    5000,
    'delivered',
  );
  await first.client.endAsync(true);

  // Second connection: the command comes again, since no result arrived.
  const second = await listen(t, dev);
  await waitFor(() => second.heard.some((c) => c.id === sent.body.id), 5000, 're-delivery');
  await answer(second.client, dev.deviceId, sent.body.id);
  const done = await waitFor(
    async () => {
      const r = await f.api<CommandView>('GET', `/api/v1/commands/${sent.body.id}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    },
    5000,
    'result',
  );
  t.ok(done.attempts >= 2, `sent ${done.attempts} times`);
  t.equal(done.result?.status, 'succeeded');

  // A duplicate result (the agent answers a redelivery again) changes nothing.
  await answer(second.client, dev.deviceId, sent.body.id, 'failed');
  const third = await listen(t, dev).catch(() => undefined);
  t.ok(third);
  const after = await f.api<CommandView>('GET', `/api/v1/commands/${sent.body.id}`);
  t.equal(after.body.status, 'succeeded');

  const metrics = await waitFor(
    async () => {
      const m = (await f.api<string>('GET', '/metrics')).body;
      return m.includes('diemcau_command_results_ignored_total{reason="duplicate"} 1') ? m : undefined;
    },
    5000,
    'the duplicate counted',
  );
  t.match(metrics, 'diemcau_commands_issued_total{type="identify"} 1');
  t.match(metrics, 'diemcau_commands_finished_total{type="identify",status="succeeded"} 1');

  const list = await f.api<{ items: CommandView[] }>('GET', `/api/v1/devices/${dev.deviceId}/commands`);
  t.same(
    list.body.items.map((c) => c.id),
    [sent.body.id],
  );

  const audit = (await f.api<{ items: AuditItem[] }>('GET', `/api/v1/audit?target=device:${dev.deviceId}`)).body.items;
  const issued = audit.find((a) => a.action === 'command.identify');
  const result = audit.find((a) => a.action === 'command.identify.result');
  t.match(issued, { outcome: 'queued', details: { commandId: sent.body.id } }, 'who/what/to whom/when');
  t.match(result, { outcome: 'succeeded', details: { commandId: sent.body.id } }, 'and the result');
});

t.test('a results payload that is bad or for another device changes nothing', async (t) => {
  const f = await startTestFleet(t);
  const { communes } = await districtWithCommunes(f);
  const a = await f.enrol(communes[0]!.id);
  const b = await f.enrol(communes[1]!.id);
  const sent = await f.api<CommandView>('POST', `/api/v1/devices/${a.deviceId}/commands`, {
    body: { type: 'self-test' },
  });
  const other = await listen(t, b);
  await other.client.publishAsync(deviceTopic(b.deviceId, 'command-results'), 'not json', { qos: 1 });
  await answer(other.client, b.deviceId, sent.body.id); // b answers a's command
  const metrics = await waitFor(
    async () => {
      const m = await f.api<string>('GET', '/metrics');
      return /diemcau_mqtt_rejected_total\{[^}]*channel="command-results"[^}]*\} 1/.test(m.body) ? m.body : undefined;
    },
    5000,
    'bad payload counted',
  );
  t.ok(metrics);
  t.equal((await f.api<CommandView>('GET', `/api/v1/commands/${sent.body.id}`)).body.status, 'queued');
});

t.test('a subtree command reaches every device under the district and none elsewhere', async (t) => {
  const f = await startTestFleet(t);
  const { district, communes } = await districtWithCommunes(f);
  const { communes: elsewhere } = await districtWithCommunes(f, [district.id]);
  const inside = [
    await f.enrol(district.id),
    await f.enrol(communes[0]!.id),
    await f.enrol(communes[1]!.id),
    await f.enrol(communes[2]!.id),
  ];
  const outside = await f.enrol(elsewhere[0]!.id);
  const ears = await Promise.all(inside.map((d) => listen(t, d)));
  const far = await listen(t, outside);

  const res = await f.api<{ batchId: string; items: { commandId: string; deviceId: string; siteId: string }[] }>(
    'POST',
    `/api/v1/sites/${district.id}/commands`,
    { body: { type: 'set-config', params: { telemetryIntervalSec: 30 } } },
  );
  t.equal(res.status, 202);
  t.same(res.body.items.map((i) => i.deviceId).sort(), inside.map((d) => d.deviceId).sort());
  for (const [i, ear] of ears.entries()) {
    const item = res.body.items.find((x) => x.deviceId === inside[i]!.deviceId)!;
    await waitFor(
      () => ear.heard.some((c) => c.id === item.commandId && c.type === 'set-config'),
      5000,
      `delivery to ${item.deviceId}`,
    );
  }
  t.same(far.heard, [], 'the other district heard nothing');
  const batch = await f.api<{ items: CommandView[] }>('GET', `/api/v1/command-batches/${res.body.batchId}`);
  t.equal(batch.body.items.length, inside.length);
});

t.test('roles: viewers cannot send, district operators only inside their district', async (t) => {
  const f = await startTestFleet(t);
  const { district, communes } = await districtWithCommunes(f);
  const { district: other, communes: otherCommunes } = await districtWithCommunes(f, [district.id]);
  const mine = await f.enrol(communes[0]!.id);
  const theirs = await f.enrol(otherCommunes[0]!.id);
  const op = await f.api<{ token: string }>('POST', '/api/v1/operators', {
    body: { name: 'Lục Yên IT', role: 'district-operator', districtId: district.id },
  });
  const viewer = await f.api<{ token: string }>('POST', '/api/v1/operators', {
    body: { name: 'Observer', role: 'viewer' },
  });
  t.equal(op.status, 201);

  const ok = await f.api<CommandView>('POST', `/api/v1/devices/${mine.deviceId}/commands`, {
    body: { type: 'identify' },
    token: op.body.token,
  });
  t.equal(ok.status, 202);
  const no = await f.api<{ code: string }>('POST', `/api/v1/devices/${theirs.deviceId}/commands`, {
    body: { type: 'identify' },
    token: op.body.token,
  });
  t.equal(no.status, 403);
  t.equal(no.body.code, 'FLEET_ERR_FORBIDDEN');
  const noSite = await f.api<{ code: string }>('POST', `/api/v1/sites/${other.id}/commands`, {
    body: { type: 'identify' },
    token: op.body.token,
  });
  t.equal(noSite.status, 403);
  const v = await f.api<{ code: string }>('POST', `/api/v1/devices/${mine.deviceId}/commands`, {
    body: { type: 'identify' },
    token: viewer.body.token,
  });
  t.equal(v.status, 403);
  t.equal(
    (await f.api('GET', `/api/v1/commands/${ok.body.id}`, { token: viewer.body.token })).status,
    200,
    'viewers may read',
  );
  const hidden = await f.api('GET', `/api/v1/commands/${ok.body.id}`, { token: op.body.token });
  t.equal(hidden.status, 200);
  const adminCmd = await f.api<CommandView>('POST', `/api/v1/devices/${theirs.deviceId}/commands`, {
    body: { type: 'identify' },
  });
  t.equal(
    (await f.api('GET', `/api/v1/commands/${adminCmd.body.id}`, { token: op.body.token })).status,
    404,
    "another district's command is invisible",
  );
});

t.test('bad requests are refused with a reason', async (t) => {
  const f = await startTestFleet(t);
  const { communes } = await districtWithCommunes(f);
  const dev = await f.enrol(communes[0]!.id);
  const unknownType = await f.api<{ code: string }>('POST', `/api/v1/devices/${dev.deviceId}/commands`, {
    body: { type: 'format-disk' },
  });
  t.equal(unknownType.status, 400);
  t.equal(unknownType.body.code, 'FLEET_ERR_BAD_REQUEST');
  const badConfig = await f.api<{ code: string; message: string }>('POST', `/api/v1/devices/${dev.deviceId}/commands`, {
    body: { type: 'set-config', params: { telemetryIntervalSec: 0 } },
  });
  t.equal(badConfig.status, 400, 'set-config checked against the protocol schema before queueing');
  t.match(badConfig.body.message, /telemetryIntervalSec/);
  t.equal(
    (await f.api('POST', `/api/v1/devices/${dev.deviceId}/commands`, { body: { type: 'set-config', params: {} } }))
      .status,
    400,
    'nothing to change',
  );
  const noDevice = await f.api<{ code: string }>('POST', '/api/v1/devices/nope/commands', {
    body: { type: 'identify' },
  });
  t.equal(noDevice.status, 404);
  const noSite = await f.api<{ code: string }>('POST', '/api/v1/sites/nowhere/commands', {
    body: { type: 'identify' },
  });
  t.equal(noSite.status, 404);
  t.equal((await f.api('GET', '/api/v1/commands/cmd_nope')).status, 404);
});

t.test('reboot and restart-media refused during a live meeting unless forced; the force is audited', async (t) => {
  const f = await startTestFleet(t);
  const { district, communes } = await districtWithCommunes(f);
  const box = await f.enrol(communes[0]!.id);
  const ear = await listen(t, box);
  const meeting = await f.api<{ id: string }>('POST', '/api/v1/meetings', {
    body: { title: 'Giao ban', chairSiteId: district.id, siteIds: [communes[0]!.id] },
  });
  t.equal(meeting.status, 201);

  for (const type of ['reboot', 'restart-media']) {
    const refused = await f.api<{ code: string; details: { sites: string[] } }>(
      'POST',
      `/api/v1/devices/${box.deviceId}/commands`,
      { body: { type } },
    );
    t.equal(refused.status, 409, `${type} refused`);
    t.equal(refused.body.code, 'FLEET_ERR_SITE_IN_MEETING');
    t.same(refused.body.details.sites, [communes[0]!.id]);
  }
  const subtree = await f.api<{ code: string }>('POST', `/api/v1/sites/${district.id}/commands`, {
    body: { type: 'reboot' },
  });
  t.equal(subtree.status, 409, 'a district reboot is refused as a whole');
  t.equal(
    (await f.api('POST', `/api/v1/devices/${box.deviceId}/commands`, { body: { type: 'identify' } })).status,
    202,
    'identify is harmless',
  );
  t.equal(
    (
      await f.api('POST', `/api/v1/devices/${box.deviceId}/commands`, {
        body: { type: 'reboot', force: { reason: '' } },
      })
    ).status,
    400,
    'a force needs a reason',
  );

  const reason = 'camera hung, chair agreed to a 2-minute break';
  const forced = await f.api<CommandView>('POST', `/api/v1/devices/${box.deviceId}/commands`, {
    body: { type: 'reboot', force: { reason } },
  });
  t.equal(forced.status, 202);
  t.same(forced.body.force, { reason });
  await waitFor(
    () => ear.heard.some((c) => c.id === forced.body.id && c.force?.reason === reason),
    5000,
    'forced command with its reason',
  );

  const audit = (await f.api<{ items: AuditItem[] }>('GET', `/api/v1/audit?target=device:${box.deviceId}`)).body.items;
  t.match(
    audit.find((a) => a.action === 'command.reboot' && a.outcome === 'forced'),
    { details: { commandId: forced.body.id, forceReason: reason, liveMeeting: true } },
  );
  t.ok(
    audit.some((a) => a.action === 'command.restart-media' && a.outcome === 'refused'),
    'refusals are audited too',
  );
});
