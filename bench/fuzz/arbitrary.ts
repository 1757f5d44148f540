// Turns a TypeBox schema (the subset our protocol uses) into a fast-check
// generator of VALID values, so the fuzzer reaches the accepting paths and
// the near-valid mutations sit one field away from a real message.
import fc from 'fast-check';
import { Kind, OptionalKind, type TSchema } from '@sinclair/typebox';

type S = TSchema & Record<string, unknown>;

function stringArb(s: S): fc.Arbitrary<string> {
  if (s.format === 'date-time') {
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
  }
  const minLength = (s.minLength as number | undefined) ?? 0;
  const maxLength = Math.min((s.maxLength as number | undefined) ?? 40, 80);
  if (typeof s.pattern === 'string') {
    return fc
      .stringMatching(new RegExp(s.pattern))
      .filter((v) => v.length >= minLength && v.length <= ((s.maxLength as number | undefined) ?? Infinity));
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
}

function numberArb(s: S, integer: boolean): fc.Arbitrary<number> {
  const min = (s.minimum as number | undefined) ?? (s.exclusiveMinimum as number | undefined) ?? -1e6;
  const max = (s.maximum as number | undefined) ?? (s.exclusiveMaximum as number | undefined) ?? 1e9;
  return integer
    ? fc
        .integer({ min: Math.ceil(min), max: Math.floor(max) })
        .filter((n) => n !== s.exclusiveMinimum && n !== s.exclusiveMaximum)
    : fc
        .double({ min, max, noNaN: true, noDefaultInfinity: true })
        .filter((n) => n !== s.exclusiveMinimum && n !== s.exclusiveMaximum);
}

export function arbitraryOf(schema: TSchema): fc.Arbitrary<unknown> {
  const s = schema as S;
  switch (s[Kind]) {
    case 'Literal':
      return fc.constant(s.const);
    case 'String':
      return stringArb(s);
    case 'Number':
      return numberArb(s, false);
    case 'Integer':
      return numberArb(s, true);
    case 'Boolean':
      return fc.boolean();
    case 'Null':
      return fc.constant(null);
    case 'Unknown':
    case 'Any':
      return fc.jsonValue({ maxDepth: 2 });
    case 'Union':
      return fc.oneof(...(s.anyOf as TSchema[]).map(arbitraryOf));
    case 'Array':
      return fc.array(arbitraryOf(s.items as TSchema), {
        minLength: (s.minItems as number | undefined) ?? 0,
        maxLength: Math.min((s.maxItems as number | undefined) ?? 4, 4),
      });
    case 'Record': {
      const value = Object.values(s.patternProperties as Record<string, TSchema>)[0]!;
      return fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), arbitraryOf(value), { maxKeys: 4 });
    }
    case 'Object': {
      const props = s.properties as Record<string, TSchema>;
      const required = Object.keys(props).filter((k) => !(props[k] as S)[OptionalKind]);
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) model[k] = arbitraryOf(v);
      return fc.record(model, { requiredKeys: required });
    }
    default:
      // An unknown kind: any JSON still exercises the rejecting path.
      return fc.jsonValue({ maxDepth: 2 });
  }
}
