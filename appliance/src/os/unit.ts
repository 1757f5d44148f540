// The agent runs as its own user; apt needs root. On the image a root
// oneshot unit (diemcau-os-update.service, started through the polkit rule
// that allows nothing else of the kind) runs os-update.mjs, which applies the
// request the agent left in its state dir and answers in the unit's own
// directory. What the unit trusts from the request is only the snapshot's
// sources, checked against the schema (no spaces, no option brackets); the
// keys apt checks them with come from the unit's own settings, so an agent
// cannot make the box install anything the mirror's keys did not sign.
// Nothing root runs or writes is the agent's: the program is a root-owned
// copy (/usr/lib/diemcau, not the agent's versions), the sources list and the
// answer live in the unit's root-owned directory (an agent that swapped them
// between their writing and apt's reading would choose what root installs),
// and the request is read without following a link.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import {
  AptSourceSchema,
  DiemcauError,
  OsSnapshotSchema,
  PackageChangeSchema,
  codec,
  writeFileAtomic,
} from '@diemcau/shared';
import { ProcessRunner } from '../devices/process-runner.js';
import type { OsApplier, OsApplyRequest, OsApplyResult } from './applier.js';

const RequestIdSchema = Type.String({ pattern: '^[a-f0-9]{16,64}$' });

export const OsRequestSchema = Type.Object({
  v: Type.Literal(1),
  /** Echoed in the answer: an answer left by an earlier run is never taken for this one. */
  id: Type.Optional(RequestIdSchema),
  snapshot: OsSnapshotSchema,
  sources: Type.Array(AptSourceSchema, { minItems: 1, maxItems: 8 }),
});
export const osRequestCodec = codec(OsRequestSchema);

export const OsResultSchema = Type.Object({
  v: Type.Literal(1),
  id: Type.Optional(RequestIdSchema),
  snapshot: OsSnapshotSchema,
  ok: Type.Boolean(),
  changed: Type.Array(PackageChangeSchema, { maxItems: 10_000 }),
  rebootRequired: Type.Boolean(),
  error: Type.Optional(Type.String({ maxLength: 2000 })),
});
export type OsResult = Static<typeof OsResultSchema>;
export const osResultCodec = codec(OsResultSchema);

export const requestFile = (stateDir: string): string => path.join(stateDir, 'request.json');
export const resultFile = (stateDir: string): string => path.join(stateDir, 'result.json');

export class UnitOs implements OsApplier {
  readonly kind = 'apt-unit' as const;
  private readonly runner = new ProcessRunner();

  /** `stateDir`: the agent's, for the request; `unitDir`: the unit's own (root's), where it answers. */
  constructor(
    private readonly o: { unit: string; stateDir: string; unitDir: string; systemctl?: string; timeoutMs?: number },
  ) {}

  async apply(req: OsApplyRequest): Promise<OsApplyResult> {
    await fs.promises.mkdir(this.o.stateDir, { recursive: true });
    const id = randomBytes(16).toString('hex');
    await writeFileAtomic(
      requestFile(this.o.stateDir),
      JSON.stringify({ v: 1, id, snapshot: req.snapshot, sources: req.sources }),
      { fsync: true },
    );
    // A oneshot: `systemctl start` returns when it has run (non-zero when it failed; the result file says why).
    const started = await this.runner
      .spawn(this.o.systemctl ?? 'systemctl', ['start', this.o.unit], { timeoutMs: this.o.timeoutMs ?? 2 * 3_600_000 })
      .catch((err: unknown) => err as Error);
    let text: string;
    try {
      text = await fs.promises.readFile(resultFile(this.o.unitDir), 'utf8');
    } catch (err) {
      const why = started instanceof Error ? started.message : `exit ${started.code}: ${started.stderr.trim()}`;
      const read = (err as Error).message;
      throw new DiemcauError('APPL_ERR_OS_APT', `${this.o.unit} left no result (${why}; ${read})`.slice(0, 900), {
        cause: err,
      });
    }
    const r = osResultCodec.decode(text);
    if (!r.ok) throw new DiemcauError('APPL_ERR_OS_APT', `${this.o.unit} wrote an unreadable result`);
    if (r.value.id !== id || r.value.snapshot !== req.snapshot) {
      const why = started instanceof Error ? started.message : `exit ${started.code}`;
      throw new DiemcauError('APPL_ERR_OS_APT', `${this.o.unit} left no answer to this request (${why})`);
    }
    if (!r.value.ok) throw new DiemcauError('APPL_ERR_OS_APT', r.value.error ?? `${this.o.unit} failed`);
    return { changed: r.value.changed, rebootRequired: r.value.rebootRequired };
  }

  close(): void {
    this.runner.close();
  }
}
