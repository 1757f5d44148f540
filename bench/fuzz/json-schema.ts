// Valid values for a JSON Schema as the fleet's OpenAPI document states it
// (TypeBox after @fastify/swagger: literals become one-value enums, nullable
// fields carry `nullable`). arbitrary.ts does the same from TypeBox kinds;
// this one works from the published document, so a route added tomorrow is
// fuzzed with no change here.
import fc from 'fast-check';

export type JsonSchema = Record<string, unknown>;

function stringArb(s: JsonSchema): fc.Arbitrary<string> {
  const minLength = (s.minLength as number | undefined) ?? 0;
  const maxLength = (s.maxLength as number | undefined) ?? Infinity;
  if (s.format === 'date-time') {
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
  }
  if (typeof s.pattern === 'string') {
    return fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length >= minLength && v.length <= maxLength);
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(maxLength, 60)) });
}

function numberArb(s: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const exMin = s.exclusiveMinimum as number | undefined;
  const exMax = s.exclusiveMaximum as number | undefined;
  const min = (s.minimum as number | undefined) ?? exMin ?? -1e6;
  const max = (s.maximum as number | undefined) ?? exMax ?? 1e9;
  const base = integer
    ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
    : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
  return base.filter((n) => n !== exMin && n !== exMax);
}

/** Values to mix in for properties of these names (real site ids), so valid bodies also pass the handlers' lookups. */
export type KnownValues = Record<string, fc.Arbitrary<unknown>>;

export function arbitraryFromJsonSchema(
  schema: JsonSchema,
  resolve: (ref: string) => JsonSchema | undefined,
  known: KnownValues = {},
  depth = 0,
): fc.Arbitrary<unknown> {
  if (depth > 8) return fc.constant(null);
  const next = (s: unknown) => arbitraryFromJsonSchema(s as JsonSchema, resolve, known, depth + 1);
  let arb: fc.Arbitrary<unknown>;
  if (typeof schema.$ref === 'string') {
    const target = resolve(schema.$ref);
    arb = target ? next(target) : fc.jsonValue({ maxDepth: 2 });
  } else if ('const' in schema) {
    arb = fc.constant(schema.const);
  } else if (Array.isArray(schema.enum)) {
    arb = fc.constantFrom(...(schema.enum as unknown[]));
  } else if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
    arb = fc.oneof(...((schema.anyOf ?? schema.oneOf) as unknown[]).map(next));
  } else if (Array.isArray(schema.allOf)) {
    // Composites: merge the object parts (all our allOf are objects).
    const merged = (schema.allOf as JsonSchema[]).reduce<JsonSchema>(
      (acc, s) => ({
        type: 'object',
        properties: { ...(acc.properties as object), ...(s.properties as object) },
        required: [...((acc.required as string[]) ?? []), ...((s.required as string[]) ?? [])],
      }),
      {},
    );
    arb = next(merged);
  } else {
    switch (schema.type) {
      case 'string':
        arb = stringArb(schema);
        break;
      case 'number':
        arb = numberArb(schema, false);
        break;
      case 'integer':
        arb = numberArb(schema, true);
        break;
      case 'boolean':
        arb = fc.boolean();
        break;
      case 'null':
        arb = fc.constant(null);
        break;
      case 'array': {
        const minLength = (schema.minItems as number | undefined) ?? 0;
        const maxLength = Math.max(minLength, Math.min((schema.maxItems as number | undefined) ?? 4, 4));
        arb = fc.array(schema.items ? next(schema.items) : fc.jsonValue({ maxDepth: 1 }), { minLength, maxLength });
        break;
      }
      case 'object': {
        const props = (schema.properties ?? {}) as Record<string, unknown>;
        const required = ((schema.required as string[] | undefined) ?? []).filter((k) => k in props);
        const model: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [k, v] of Object.entries(props))
          model[k] = known[k]
            ? fc.oneof({ weight: 3, arbitrary: known[k] }, { weight: 1, arbitrary: next(v) })
            : next(v);
        arb = fc.record(model, { requiredKeys: required });
        break;
      }
      default:
        arb = fc.jsonValue({ maxDepth: 2 });
    }
  }
  return schema.nullable === true ? fc.option(arb, { nil: null, freq: 5 }) : arb;
}
