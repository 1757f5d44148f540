import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { FormatRegistry } from '@sinclair/typebox';
import { DiemcauError } from './errors.js';

// TypeBox knows no string formats by itself; fastify's ajv knows date-time,
// so both sides accept the same timestamps.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)));
}

export const PROTOCOL_VERSION = 1;

/** Payloads above this are rejected before parsing (MQTT and HTTP alike). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: DiemcauError };

export interface Codec<S extends TSchema> {
  readonly schema: S;
  /** Parses and validates bytes or text; never throws. */
  decode(payload: Buffer | string): Decoded<Static<S>>;
  /** Validates an already-parsed value; never throws. */
  check(value: unknown): Decoded<Static<S>>;
  encode(value: Static<S>): string;
}

// Compiled once per schema: the fleet decodes thousands of messages a second.
export function codec<S extends TSchema>(schema: S): Codec<S> {
  const compiled: TypeCheck<S> = TypeCompiler.Compile(schema);
  const check = (value: unknown): Decoded<Static<S>> => {
    if (compiled.Check(value)) return { ok: true, value };
    if (
      typeof value === 'object' &&
      value !== null &&
      'v' in value &&
      (value as { v: unknown }).v !== PROTOCOL_VERSION
    ) {
      return {
        ok: false,
        error: new DiemcauError('PROTO_ERR_VERSION', `got ${JSON.stringify((value as { v: unknown }).v)}`),
      };
    }
    const first = compiled.Errors(value).First();
    const where = first ? `${first.path || '/'}: ${first.message}` : 'invalid';
    return { ok: false, error: new DiemcauError('PROTO_ERR_SCHEMA', where) };
  };
  return {
    schema,
    check,
    decode(payload) {
      const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      if (size > MAX_PAYLOAD_BYTES) {
        return { ok: false, error: new DiemcauError('PROTO_ERR_TOO_LARGE', `${size} bytes > ${MAX_PAYLOAD_BYTES}`) };
      }
      let value: unknown;
      try {
        value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
      } catch (err) {
        return { ok: false, error: new DiemcauError('PROTO_ERR_NOT_JSON', undefined, { cause: err }) };
      }
      return check(value);
    },
    encode: (value) => JSON.stringify(value),
  };
}
