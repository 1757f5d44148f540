// The dispatcher over a real aedes instance and a real SQLite file, with the
// clock in the test's hands so expiry needs no waiting.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import pino from 'pino';
import { SqliteDb } from '../../src/db/sqlite.js';
import { createDispatcher } from '../../src/commands/dispatcher.js';
import type { CommandRecord } from '../../src/commands/lifecycle.js';
import { COMMAND_MIGRATIONS, CommandsRepo } from '../../src/commands/repo.js';

const log = pino({ level: 'silent' });

async function setup(t: { teardown(fn: () => unknown): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diemcau-dispatch-'));
  const db = await SqliteDb.open(path.join(dir, 'fleet.sqlite'), log);
  await db.migrate(COMMAND_MIGRATIONS);
  const broker = await Aedes.createBroker();
  const store = new CommandsRepo(db);
  let clock = new Date('2026-03-01T08:00:00.000Z');
  const changes: string[] = [];
  const dispatcher = createDispatcher({
    broker,
    store,
    log,
    sweepIntervalMs: 0,
    now: () => clock,
    onChange: (r, ev) => changes.push(`${r.id}:${ev.kind}:${r.status}`),
  });
  t.teardown(async () => {
    dispatcher.close();
    await new Promise<void>((r) => broker.close(() => r()));
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    store,
    dispatcher,
    changes,
    advance: (ms: number) => (clock = new Date(clock.getTime() + ms)),
    now: () => clock,
  };
}

const record = (id: string, deviceId: string, issuedAt: Date, ttlMs: number): CommandRecord => ({
  id,
  batchId: null,
  deviceId,
  siteId: 'site-a',
  type: 'self-test',
  params: {},
  issuedBy: 'admin',
  issuedAt: issuedAt.toISOString(),
  expiresAt: new Date(issuedAt.getTime() + ttlMs).toISOString(),
  force: null,
  status: 'queued',
  attempts: 0,
  lastSentAt: null,
  deliveredAt: null,
  completedAt: null,
  result: null,
});

t.test('a command nobody answers expires at its time, not before', async (t) => {
  const { store, dispatcher, advance, now, changes } = await setup(t);
  const rec = record('c1', 'dev-1', now(), 60_000);
  await store.insertMany([rec]);
  await dispatcher.send([rec]);
  t.equal((await store.get('c1'))!.attempts, 1);
  t.equal((await store.get('c1'))!.status, 'queued', 'no subscriber: not delivered');
  advance(59_000);
  t.equal(await dispatcher.sweep(), 0);
  advance(1_000);
  t.equal(await dispatcher.sweep(), 1);
  t.equal((await store.get('c1'))!.status, 'expired');
  t.ok(changes.includes('c1:expire:expired'), 'observers hear the expiry (audit)');
  t.equal(await dispatcher.sweep(), 0, 'expired once');
});

t.test('a reconnect re-sends open commands and expires stale ones instead of sending them', async (t) => {
  const { store, dispatcher, advance, now } = await setup(t);
  const fresh = record('fresh', 'dev-2', now(), 3_600_000);
  const stale = record('stale', 'dev-2', now(), 10_000);
  const done = { ...record('done', 'dev-2', now(), 3_600_000), status: 'succeeded' as const };
  await store.insertMany([fresh, stale, done]);
  advance(20_000);
  await dispatcher.flushDevice('dev-2');
  t.equal((await store.get('fresh'))!.attempts, 1, 'sent');
  t.equal((await store.get('stale'))!.status, 'expired');
  t.equal((await store.get('stale'))!.attempts, 0, 'never sent once stale');
  t.equal((await store.get('done'))!.attempts, 0, 'finished commands stay quiet');
});

t.test(
  "results: the first one counts, a late one still replaces the fleet's expiry, strangers are ignored",
  async (t) => {
    const { store, dispatcher, advance, now } = await setup(t);
    const rec = record('c3', 'dev-3', now(), 10_000);
    await store.insertMany([rec]);
    advance(11_000);
    await dispatcher.sweep();
    t.equal((await store.get('c3'))!.status, 'expired');
    await dispatcher.handleResult('dev-9', { v: 1, commandId: 'c3', status: 'succeeded', at: now().toISOString() });
    t.equal((await store.get('c3'))!.status, 'expired', 'another device cannot answer it');
    t.equal(dispatcher.counters.unknownResults, 1);
    await dispatcher.handleResult('dev-3', { v: 1, commandId: 'c3', status: 'succeeded', at: now().toISOString() });
    t.equal((await store.get('c3'))!.status, 'succeeded', 'the device ran it before expiry; its word counts');
    await dispatcher.handleResult('dev-3', { v: 1, commandId: 'c3', status: 'failed', at: now().toISOString() });
    t.equal((await store.get('c3'))!.status, 'succeeded');
    t.equal(dispatcher.counters.duplicateResults, 1);
  },
);
