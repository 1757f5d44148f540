// Property-based fuzzing of every MQTT payload parser in the protocol: each
// exported `*Codec` of @diemcau/shared. Properties: decoding never throws,
// whatever the bytes; an accepted payload really matches its schema; and a
// rejection always carries a stable PROTO_ERR_* code.
import fc from 'fast-check';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { arbitraryOf } from './arbitrary.js';
import * as shared from '@diemcau/shared';
import type { Codec } from '@diemcau/shared';

export interface FuzzOutcome {
  name: string;
  runs: number;
  accepted: number;
  rejected: number;
  failures: number;
  firstFailure?: string;
}

export function protocolCodecs(): [string, Codec<TSchema>][] {
  return Object.entries(shared)
    .filter(([name, v]) => name.endsWith('Codec') && typeof v === 'object' && v !== null && 'decode' in v)
    .map(([name, v]) => [name, v as Codec<TSchema>]);
}

/** Payload generators: valid messages, near-valid ones (one field replaced or added), raw bytes, any JSON. */
function payloads(schema: TSchema): fc.Arbitrary<Buffer | string> {
  const valid = arbitraryOf(schema);
  const nearValid = fc
    .tuple(valid, fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }))
    .map(([v, key, value]) => {
      if (typeof v !== 'object' || v === null) return JSON.stringify(value);
      const copy = { ...(v as Record<string, unknown>) };
      const keys = Object.keys(copy);
      const target = keys.length > 0 && key.length % 2 === 0 ? keys[key.length % keys.length]! : key;
      copy[target] = value;
      return JSON.stringify(copy);
    });
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((v) => JSON.stringify(v)) },
    { weight: 3, arbitrary: nearValid },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 256 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  );
}

export function fuzzCodec(name: string, c: Codec<TSchema>, runs: number, seed?: number): FuzzOutcome {
  const outcome: FuzzOutcome = { name, runs, accepted: 0, rejected: 0, failures: 0 };
  const result = fc.check(
    fc.property(payloads(c.schema), (payload) => {
      const r = c.decode(payload);
      if (r.ok) {
        outcome.accepted++;
        return Value.Check(c.schema, r.value);
      }
      outcome.rejected++;
      return /^PROTO_ERR_/.test(r.error.code) && r.error.message.length > 0;
    }),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
  if (result.failed) {
    outcome.failures = 1;
    outcome.firstFailure = `${String(result.counterexample?.[0]).slice(0, 200)}${result.errorInstance ? ` (${String(result.errorInstance)})` : ''}`;
  }
  return outcome;
}
