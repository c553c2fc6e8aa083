// The demo's JSON Schema → example generator (src/providers/demo/json-example.ts): what it makes
// validates, with ajv, against the schemas structured-output clients send (zod's own output and
// the openai helper's), against hand-written edge cases of each keyword, and against random
// satisfiable schemas; hostile schemas (recursive, exponential, huge) finish fast and small.
import t from 'tap'
import fc from 'fast-check'
import { Ajv } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { z } from 'zod'
import { zodResponseFormat } from 'openai/helpers/zod'
import { exampleFor, type ExampleOptions } from '../../../src/providers/demo/json-example.ts'

const LABEL = '[offline demo provider, no model was called]'
const structured: ExampleOptions = { text: () => LABEL, optional: () => true }

const draft07 = addFormats.default(new Ajv({ strict: false, allErrors: true }))
const draft2020 = addFormats.default(new Ajv2020({ strict: false, allErrors: true }))

function validate(schema: Record<string, unknown>, value: unknown): string | null {
  const ajv = String(schema.$schema ?? '').includes('2020-12') ? draft2020 : draft07
  const check = ajv.compile(schema)
  return check(value) ? null : ajv.errorsText(check.errors)
}

/** A subtest's `t`. */
type Test = Parameters<Parameters<typeof t.test>[0]>[0]

function assertValid(t: Test, name: string, schema: Record<string, unknown>, options = structured): unknown {
  const value = exampleFor(schema, options)
  t.equal(validate(schema, value), null, `${name}: ${JSON.stringify(value).slice(0, 300)}`)
  return value
}

const Tree: z.ZodType<{ name: string; children: unknown[] }> = z.object({
  name: z.string(),
  get children() {
    return z.array(Tree)
  },
})

const Invoice = z.object({
  id: z.uuid(),
  issued: z.iso.datetime(),
  due: z.iso.date(),
  customer: z.object({ name: z.string().min(2).max(20), email: z.email(), website: z.url().nullable() }),
  lines: z.array(z.object({ sku: z.string(), quantity: z.int().positive(), price: z.number().min(0.01).multipleOf(0.01) })).min(1).max(3),
  status: z.enum(['draft', 'sent', 'paid']),
  kind: z.discriminatedUnion('type', [z.object({ type: z.literal('b2b'), vat: z.string() }), z.object({ type: z.literal('b2c') })]),
  tags: z.array(z.string()).min(3),
  discount: z.number().gt(0).lt(1).nullable(),
  tree: Tree,
  paid: z.boolean(),
})

/** Tuples are zod's, not strict Structured Outputs' (the openai helper refuses them). */
const InvoiceWithTuple = Invoice.extend({ pair: z.tuple([z.string(), z.number()]) })

t.test('zod schemas, as zod and the openai helper write them, get valid examples that zod itself accepts', async (t) => {
  const fromZod = z.toJSONSchema(InvoiceWithTuple) as Record<string, unknown>
  const value = assertValid(t, 'z.toJSONSchema (2020-12)', fromZod)
  t.ok(InvoiceWithTuple.safeParse(value).success, 'zod parses the example of its own schema')
  const openai = zodResponseFormat(Invoice, 'invoice').json_schema.schema as Record<string, unknown>
  const strict = assertValid(t, 'zodResponseFormat (draft-07, definitions)', openai)
  t.ok(Invoice.safeParse(strict).success, 'and of the strict schema the openai helper sends')
  t.match(value, { customer: { name: String }, lines: [{ sku: LABEL }] }, 'free strings carry the demo label')
  t.same(exampleFor(fromZod, structured), value, 'deterministic')
})

t.test('each keyword, with the edge cases a generator gets wrong', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['empty schema (any JSON)', {}],
    ['const', { const: { a: [1, 2] } }],
    ['enum', { enum: [3, 'x', null] }],
    ['nullable type list', { type: ['null', 'integer'], minimum: 5 }],
    ['integer exclusive bounds', { type: 'integer', exclusiveMinimum: 7, exclusiveMaximum: 9 }],
    ['number open interval below 1', { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 0.5 }],
    ['negative range', { type: 'integer', minimum: -10, maximum: -3 }],
    ['multipleOf within bounds', { type: 'integer', multipleOf: 7, minimum: 20, maximum: 30 }],
    ['decimal multipleOf', { type: 'number', multipleOf: 0.25, minimum: 1.1 }],
    ['string lengths', { type: 'string', minLength: 60, maxLength: 70 }],
    ['short maxLength', { type: 'string', maxLength: 3 }],
    ['formats', { type: 'object', properties: Object.fromEntries(['date-time', 'date', 'time', 'email', 'hostname', 'ipv4', 'ipv6', 'uri', 'uri-reference', 'uuid', 'json-pointer', 'duration', 'regex'].map((f) => [f, { type: 'string', format: f }])) }],
    ['array bounds', { type: 'array', items: { type: 'integer' }, minItems: 4, maxItems: 4, uniqueItems: true }],
    ['unique strings and enums', { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 3, uniqueItems: true }],
    ['maxItems 0', { type: 'array', items: { type: 'string' }, maxItems: 0 }],
    ['draft-07 tuple', { type: 'array', items: [{ type: 'string' }, { type: 'boolean' }], additionalItems: false }],
    ['2020-12 tuple', { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'number' }, { const: 'x' }], items: false }],
    ['required without a property schema', { type: 'object', required: ['free'], additionalProperties: { type: 'integer' } }],
    ['minProperties', { type: 'object', minProperties: 3, additionalProperties: { type: 'boolean' } }],
    ['closed object with optional properties', { type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, additionalProperties: false }],
    ['oneOf', { oneOf: [{ type: 'string', maxLength: 2 }, { type: 'integer', minimum: 10 }] }],
    ['anyOf null first', { anyOf: [{ type: 'null' }, { type: 'object', properties: { x: { type: 'integer' } }, required: ['x'] }] }],
    ['allOf', { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { type: 'integer', minimum: 3 } }, required: ['b'] }] }],
    ['$ref into $defs', { $defs: { Pos: { type: 'integer', minimum: 1 } }, type: 'array', items: { $ref: '#/$defs/Pos' }, minItems: 2 }],
    ['$ref to a property path (zod-to-json-schema reuse)', { type: 'object', properties: { a: { type: 'object', properties: { n: { type: 'number', maximum: -1 } }, required: ['n'] }, b: { $ref: '#/properties/a' } }, required: ['a', 'b'] }],
    ['$ref with escaped pointer', { definitions: { 'a/b': { type: 'boolean' }, 'c~d': { type: 'null' } }, type: 'array', items: [{ $ref: '#/definitions/a~1b' }, { $ref: '#/definitions/c~0d' }] }],
    ['recursive $ref to the root', { type: 'object', properties: { value: { type: 'integer' }, next: { anyOf: [{ $ref: '#' }, { type: 'null' }] } }, required: ['value', 'next'] }],
    ['recursion through a required array', { $defs: { N: { type: 'object', properties: { kids: { type: 'array', items: { $ref: '#/$defs/N' } } }, required: ['kids'] } }, $ref: '#/$defs/N' }],
  ]
  for (const [name, schema] of cases) assertValid(t, name, schema)
  // ajv itself loses a property named __proto__ (it reads the schema's names into an object), so
  // this one is checked on the JSON text: both are own properties of the right type.
  const names = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"integer"},"constructor":{"type":"string"}},"required":["__proto__","constructor"]}')
  t.equal(JSON.stringify(exampleFor(names, structured)), `{"__proto__":1,"constructor":"${LABEL}"}`, '__proto__ and constructor are plain property names')
  // Draft-04's boolean exclusives (OpenAPI 3.0 still writes them); ajv 8 no longer reads them.
  const between = exampleFor({ type: 'number', minimum: 2, exclusiveMinimum: true, maximum: 3, exclusiveMaximum: true }, structured)
  t.ok(typeof between === 'number' && between > 2 && between < 3, `draft-04 exclusive bounds: ${String(between)}`)
})

t.test('tool arguments: required properties only, strings from the prompt', async (t) => {
  const schema = { type: 'object', properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'days'] }
  const value = assertValid(t, 'weather tool', schema, { text: () => 'Paris', optional: () => false })
  t.same(value, { city: 'Paris', days: 1 })
})

/** Random satisfiable schemas from the keywords the generator claims to cover. */
const schemaArbitrary = fc.letrec<{ schema: Record<string, unknown> }>((tie) => ({
  schema: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant({ type: 'boolean' }),
    fc.constant({ type: 'null' }),
    fc.record({ type: fc.constant('string'), format: fc.constantFrom('date-time', 'email', 'uuid', 'uri', 'ipv4', 'date') }),
    fc.tuple(fc.nat(30), fc.nat(30)).map(([min, extra]) => ({ type: 'string', minLength: min, maxLength: min + extra })),
    fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.nat(100), fc.integer({ min: 1, max: 5 }), fc.boolean()).map(([low, span, step, exclusive]) =>
      exclusive
        ? { type: 'integer', exclusiveMinimum: low, exclusiveMaximum: low + span * step + 2 * step + 1, multipleOf: step }
        : { type: 'integer', minimum: low, maximum: low + span * step + step, multipleOf: step },
    ),
    fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 0.001, max: 1e6, noNaN: true })).map(([low, span]) => ({ type: 'number', exclusiveMinimum: low, maximum: low + span })),
    fc.uniqueArray(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { minLength: 1, maxLength: 4 }).map((values) => ({ enum: values })),
    fc.jsonValue().map((value) => ({ const: value })),
    tie('schema').filter((s) => typeof s.type === 'string' && s.type !== 'null').map((s) => ({ ...s, type: [s.type, 'null'] })),
    fc.record({
      type: fc.constant('array'),
      items: tie('schema'),
      minItems: fc.nat(3),
    }).map((s) => ({ ...s, maxItems: s.minItems + 2 })),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('schema'), { maxKeys: 5 }).chain((properties) =>
      fc.subarray(Object.keys(properties)).map((required) => ({ type: 'object', properties, required, additionalProperties: false })),
    ),
    fc.array(tie('schema'), { minLength: 1, maxLength: 3 }).map((branches) => ({ anyOf: branches })),
  ),
})).schema

t.test('random satisfiable schemas: every example validates', async (t) => {
  fc.assert(
    fc.property(schemaArbitrary, (schema) => validate(schema, exampleFor(schema, structured)) === null),
    { numRuns: 500, seed: 10 },
  )
  t.pass('500 random schemas')
})

t.test('hostile schemas finish fast with a bounded answer', async (t) => {
  // Ten levels of ten references each: 10^10 values if expanded.
  const defs: Record<string, unknown> = { L0: { type: 'string' } }
  for (let level = 1; level <= 10; level++) {
    defs[`L${level}`] = { type: 'object', properties: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, { $ref: `#/$defs/L${level - 1}` }])), required: Array.from({ length: 10 }, (_, i) => `p${i}`) }
  }
  const wide = Object.fromEntries(Array.from({ length: 300_000 }, (_, i) => [`p${i}`, { type: 'string' }]))
  const hostile: Array<[string, unknown]> = [
    ['exponential $ref fan-out', { $defs: defs, $ref: '#/$defs/L10' }],
    ['self-reference', { $ref: '#' }],
    ['reference cycle', { $defs: { A: { $ref: '#/$defs/B' }, B: { $ref: '#/$defs/A' } }, $ref: '#/$defs/A' }],
    ['huge minItems and minLength', { type: 'array', minItems: 1e9, items: { type: 'string', minLength: 1e9 } }],
    ['300,000 required properties', { type: 'object', properties: wide, required: Object.keys(wide) }],
    ['300,000 optional properties reached 100 times', { type: 'array', minItems: 100, items: { type: 'object', properties: wide } }],
    ['a 300,000-branch anyOf of nulls, nested', { type: 'array', minItems: 100, items: { anyOf: Array.from({ length: 300_000 }, () => ({ type: 'null' })) } }],
    ['a 300,000-part allOf, nested', { type: 'array', minItems: 100, items: { allOf: Array.from({ length: 300_000 }, () => ({})) } }],
    ['a long $ref path', { $ref: `#/${'a/'.repeat(100_000)}b` }],
  ]
  for (const [name, schema] of hostile) {
    const started = performance.now()
    const text = JSON.stringify(exampleFor(schema, structured))
    const ms = performance.now() - started
    t.ok(ms < 1000, `${name}: ${Math.round(ms)} ms`)
    t.ok(text.length < 5_000_000, `${name}: ${text.length} characters`)
  }
})
