// The request bodies both HTTP fuzzers send (fleet: http.ts, edge:
// edge-http.ts), around a valid body for the route: valid, one field off,
// any JSON, text, bytes, the wrong content type, none.
import fc from 'fast-check';

export interface Body<Bytes = string> {
  payload: string | Bytes | undefined;
  contentType: string | undefined;
}

export interface BodyShape<Bytes> {
  /** How deep the JSON put in place of one field may nest. */
  nearDepth: number;
  /** Raw bytes as the fuzzer's client sends them (a Buffer to inject(), latin1 text to a socket). */
  bytes: (b: Uint8Array) => Bytes;
}

export function bodiesAround<Bytes>(valid: fc.Arbitrary<unknown>, o: BodyShape<Bytes>): fc.Arbitrary<Body<Bytes>> {
  const json = (v: unknown): Body<Bytes> => ({ payload: JSON.stringify(v), contentType: 'application/json' });
  const nearValid = fc
    .tuple(valid, fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: o.nearDepth }))
    .map(([v, key, value]) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return json(value);
      const copy = { ...(v as Record<string, unknown>) };
      const keys = Object.keys(copy);
      copy[keys.length > 0 && key.length % 2 === 0 ? keys[key.length % keys.length]! : key] = value;
      return json(copy);
    });
  return fc.oneof(
    { weight: 4, arbitrary: valid.map(json) },
    { weight: 4, arbitrary: nearValid },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(json) },
    {
      weight: 1,
      arbitrary: fc
        .string({ maxLength: 200 })
        .map((s): Body<Bytes> => ({ payload: s, contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 300 })
        .map((b): Body<Bytes> => ({ payload: o.bytes(b), contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: valid.map((v): Body<Bytes> => ({ payload: JSON.stringify(v), contentType: 'text/plain' })),
    },
    { weight: 1, arbitrary: fc.constant<Body<Bytes>>({ payload: undefined, contentType: undefined }) },
  );
}
