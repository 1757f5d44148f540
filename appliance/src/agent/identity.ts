import fs from 'node:fs';
import path from 'node:path';
import {
  codec,
  DiemcauError,
  EnrolResponseSchema,
  writeFileAtomic,
  type EnrolResponse,
  type MoveMemory,
} from '@diemcau/shared';

// What enrolment gave this box, kept in the data dir so a restart (or a power
// cut right after enrolling) never enrols again: the token is single-use.

export interface Identity extends EnrolResponse {
  v: 1;
  fleetUrl: string;
  enrolledAt: string;
  /** The CA the bootstrap said to trust, kept so MQTT over TLS works after the stick is gone. */
  caCert?: string;
  /** The last move to another fleet this box followed (agent/move.ts): an older statement is a replay. */
  lastMove?: MoveMemory;
}
// The enrolment answer's schema checks the part that matters (ids and credentials).
const responseCodec = codec(EnrolResponseSchema);

function decodeIdentity(text: string): { ok: true; value: Identity } | { ok: false; reason: string } {
  const r = responseCodec.decode(text);
  if (!r.ok) return { ok: false, reason: r.error.message };
  const extra = r.value as Partial<Identity>;
  if (extra.v !== 1 || typeof extra.fleetUrl !== 'string' || typeof extra.enrolledAt !== 'string') {
    return { ok: false, reason: 'missing v, fleetUrl or enrolledAt' };
  }
  return { ok: true, value: r.value as Identity };
}

/** The stored identity, undefined when the box never enrolled; a damaged file is an error, not a reason to enrol again. */
export async function loadIdentity(file: string): Promise<Identity | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DiemcauError('APPL_ERR_CONFIG', `cannot read ${file}`, { cause: err });
  }
  const r = decodeIdentity(text);
  if (!r.ok) {
    throw new DiemcauError(
      'APPL_ERR_CONFIG',
      `${file} is damaged (${r.reason}); remove it to enrol again with a new token`,
    );
  }
  return r.value;
}

/** Holds the MQTT password: owner-only, replaced atomically, fsynced. */
export async function saveIdentity(file: string, identity: Identity): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(identity)}\n`, { mode: 0o600, fsync: true });
}
