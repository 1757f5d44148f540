import { Counter, type Registry } from 'prom-client';
import type { CommandEvent, CommandRecord } from './lifecycle.js';
import type { Dispatcher } from './dispatcher.js';

// The commands area's Prometheus series, on the fleet's registry. Counters
// that only the dispatcher sees (duplicates, strangers) are read from it at
// scrape time rather than mirrored on every message.

export function commandMetrics(registry: Registry, dispatcher: () => Dispatcher | undefined) {
  const r = [registry];
  const issued = new Counter({
    name: 'diemcau_commands_issued_total',
    help: 'Commands stored for delivery, by type',
    labelNames: ['type'],
    registers: r,
  });
  const refused = new Counter({
    name: 'diemcau_commands_refused_total',
    help: 'Command requests refused, by code',
    labelNames: ['code'],
    registers: r,
  });
  const finished = new Counter({
    name: 'diemcau_commands_finished_total',
    help: 'Commands that ended, by type and status',
    labelNames: ['type', 'status'],
    registers: r,
  });
  new Counter({
    name: 'diemcau_command_results_ignored_total',
    help: 'Results not applied: duplicates of an answered command, or for a command the device was not sent',
    labelNames: ['reason'],
    registers: r,
    collect() {
      const c = dispatcher()?.counters;
      if (!c) return;
      this.reset();
      this.inc({ reason: 'duplicate' }, c.duplicateResults);
      this.inc({ reason: 'unknown-command' }, c.unknownResults);
    },
  });
  return {
    issued: (rec: CommandRecord) => issued.inc({ type: rec.type }),
    refused: (code: string) => refused.inc({ code }),
    changed: (rec: CommandRecord, ev: CommandEvent) => {
      if (ev.kind === 'result' || ev.kind === 'expire') finished.inc({ type: rec.type, status: rec.status });
    },
  };
}
