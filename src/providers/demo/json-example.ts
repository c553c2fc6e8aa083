// A value valid against a JSON Schema, made up deterministically: the demo's answer to
// `response_format: json_schema` and its tool-call arguments, so structured-output clients
// (`chat.completions.parse`, the AI SDK's `generateObject`, LangChain's `withStructuredOutput`)
// work offline. It covers what those clients send (zod's and zod-to-json-schema's output): type
// (and type lists, so nullable types), properties, required, additionalProperties, enum, const,
// items / prefixItems, min/maxItems, anyOf / oneOf / allOf, $ref as a JSON pointer (into $defs,
// definitions, or the `#/properties/…` paths zod-to-json-schema writes for reused schemas),
// numeric bounds and multipleOf, min/maxLength and the common string formats.
//
// `pattern` is deliberately not honoured: running a caller's regular expression is a ReDoS
// risk on a provider that is always on. Nor are not, if/then/else, dependencies, contains.
//
// The work is bounded whatever the schema: nesting past SHALLOW_DEPTH keeps only what is required;
// past MAX_VALUES objects stop growing and each remaining value is made from its own keywords
// without descending (an empty string, object or array), and past MAX_DEPTH it is null. A recursive, exponential or huge schema
// then gets an answer that may not validate, instead of a frozen process or a huge answer.

export interface ExampleOptions {
  /** The text of a free string; `key` is the property that holds it (undefined in arrays and at the root). */
  text(key: string | undefined): string
  /** Whether an optional property is filled in; required ones always are. */
  optional(key: string): boolean
}

type SchemaObject = Record<string, unknown>

const SHALLOW_DEPTH = 6
const MAX_DEPTH = 16
/** Values made, object properties visited and allOf keys merged, together (an answer of ~1 MB at most). */
const MAX_VALUES = 20_000
const MAX_ITEMS = 100
const MAX_STRING = 10_000

/** Examples of the string formats of JSON Schema (and OpenAPI's byte), valid for zod's checks too. */
const FORMATS: Readonly<Record<string, string>> = {
  'date-time': '2026-01-01T00:00:00Z',
  date: '2026-01-01',
  time: '00:00:00Z',
  duration: 'P1D',
  email: 'demo@example.com',
  'idn-email': 'demo@example.com',
  hostname: 'example.com',
  'idn-hostname': 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  uri: 'https://example.com/demo',
  url: 'https://example.com/demo',
  'uri-reference': 'https://example.com/demo',
  iri: 'https://example.com/demo',
  'iri-reference': 'https://example.com/demo',
  'uri-template': 'https://example.com/{demo}',
  uuid: '00000000-0000-4000-8000-000000000000',
  'json-pointer': '/demo',
  'relative-json-pointer': '0',
  regex: 'demo',
  byte: 'ZGVtbw==',
  base64: 'ZGVtbw==',
}

interface State {
  root: unknown
  options: ExampleOptions
  values: number
  refs: Map<string, unknown>
}

export function exampleFor(schema: unknown, options: ExampleOptions): unknown {
  return make({ root: schema, options, values: 0, refs: new Map() }, schema, undefined, 0, 0)
}

const isObject = (value: unknown): value is SchemaObject => typeof value === 'object' && value !== null && !Array.isArray(value)
const own = (object: SchemaObject, key: string): unknown => (Object.hasOwn(object, key) ? object[key] : undefined)
const finite = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)

/** `variant` varies the value of the i-th array item, so items differ (uniqueItems) where they can. */
function make(state: State, schema: unknown, key: string | undefined, depth: number, variant: number): unknown {
  if (depth > MAX_DEPTH) return null
  if (++state.values > MAX_VALUES) return minimal(state, schema, variant)
  if (!isObject(schema)) return schema === false ? null : state.options.text(key)
  const shallow = depth >= SHALLOW_DEPTH
  if (typeof schema.$ref === 'string') return make(state, resolve(state, schema.$ref), key, depth + 1, variant)
  if (Object.hasOwn(schema, 'const')) return schema.const
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[variant % schema.enum.length]
  const branches = (Array.isArray(schema.anyOf) && schema.anyOf) || (Array.isArray(schema.oneOf) && schema.oneOf)
  if (branches && branches.length > 0) return make(state, chooseBranch(state, branches, shallow), key, depth + 1, variant)
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return make(state, mergeAll(state, schema), key, depth + 1, variant)
  switch (typeOf(schema, shallow)) {
    case 'null':
      return null
    case 'boolean':
      return variant % 2 === 0
    case 'integer':
      return numberFor(schema, true, variant)
    case 'number':
      return numberFor(schema, false, variant)
    case 'array':
      return arrayFor(state, schema, depth, shallow)
    case 'object':
      return objectFor(state, schema, depth, shallow)
    default:
      return stringFor(state, schema, key, variant)
  }
}

/** Past the budget: a value from the schema's own keywords (one $ref hop), in constant time. */
function minimal(state: State, schema: unknown, variant: number): unknown {
  const target = isObject(schema) && typeof schema.$ref === 'string' ? resolve(state, schema.$ref) : schema
  if (!isObject(target)) return null
  if (Object.hasOwn(target, 'const')) return target.const
  if (Array.isArray(target.enum) && target.enum.length > 0) return target.enum[0]
  if (target.anyOf || target.oneOf || target.allOf) return null
  switch (typeOf(target, true)) {
    case 'boolean':
      return false
    case 'integer':
      return numberFor(target, true, variant)
    case 'number':
      return numberFor(target, false, variant)
    case 'string':
      return ''
    case 'array':
      return []
    case 'object':
      return {}
    default:
      return null
  }
}

/** The type to make: the first non-null one of a list (null once nesting is deep), else inferred from keywords. */
function typeOf(schema: SchemaObject, shallow: boolean): string {
  const type = schema.type
  if (typeof type === 'string') return type
  if (Array.isArray(type) && type.length > 0) {
    const types = type.slice(0, 8) // JSON Schema has seven types; a longer list is noise
    if (shallow && types.includes('null')) return 'null'
    return String(types.find((t) => t !== 'null') ?? types[0])
  }
  if ('properties' in schema || 'required' in schema || 'additionalProperties' in schema) return 'object'
  if ('items' in schema || 'prefixItems' in schema) return 'array'
  if ('minimum' in schema || 'maximum' in schema || 'multipleOf' in schema) return 'number'
  return 'string'
}

/** The first branch that is not `null`, or `null` itself once nesting is deep (it ends recursion). */
function chooseBranch(state: State, branches: unknown[], shallow: boolean): unknown {
  for (const branch of branches) {
    if (++state.values > MAX_VALUES) break
    const target = isObject(branch) && typeof branch.$ref === 'string' ? resolve(state, branch.$ref) : branch
    if ((isObject(target) && target.type === 'null') === shallow) return branch
  }
  return branches[0]
}

/** allOf as one schema: properties and required joined, other keywords from the last that sets them. */
function mergeAll(state: State, schema: SchemaObject): SchemaObject {
  const merged: SchemaObject = {}
  const properties: SchemaObject = {}
  const required: unknown[] = []
  const absorb = (part: unknown) => {
    state.values++
    const target = isObject(part) && typeof part.$ref === 'string' ? resolve(state, part.$ref) : part
    if (!isObject(target)) return
    state.values += Object.keys(target).length
    for (const [k, v] of Object.entries(target)) if (k !== 'properties' && k !== 'required' && k !== 'allOf') merged[k] = v
    if (isObject(target.properties)) {
      state.values += Object.keys(target.properties).length
      Object.assign(properties, target.properties)
    }
    if (Array.isArray(target.required)) for (const name of target.required.slice(0, MAX_VALUES)) required.push(name)
  }
  absorb(schema)
  for (const part of schema.allOf as unknown[]) {
    if (state.values > MAX_VALUES) break
    absorb(part)
  }
  return { ...merged, properties, required }
}

function objectFor(state: State, schema: SchemaObject, depth: number, shallow: boolean): Record<string, unknown> {
  // No prototype: a property named __proto__ is then an own property like any other.
  const out: Record<string, unknown> = Object.create(null)
  const properties = isObject(schema.properties) ? schema.properties : {}
  const listed = Array.isArray(schema.required) ? schema.required : []
  // Visiting costs too, so that a huge property list, or one reached many times, runs out of
  // budget (the object then stops growing) instead of freezing the process.
  state.values += listed.length
  if (state.values > MAX_VALUES) return out
  const required = new Set(listed.filter((r) => typeof r === 'string'))
  for (const name of Object.keys(properties)) {
    if (++state.values > MAX_VALUES) return out
    if (!required.has(name) && (shallow || !state.options.optional(name))) continue
    out[name] = make(state, properties[name], name, depth + 1, 0)
  }
  // Required names without a property schema (allowed unless additionalProperties is false).
  const extra = isObject(schema.additionalProperties) ? schema.additionalProperties : true
  let count = Object.keys(out).length
  const add = (name: string, variant: number) => {
    if (Object.hasOwn(out, name)) return
    out[name] = make(state, extra, name, depth + 1, variant)
    count++
  }
  for (const name of required) {
    if (state.values > MAX_VALUES) return out
    add(name, 0)
  }
  const minProperties = schema.additionalProperties === false ? 0 : Math.min(finite(schema.minProperties) ?? 0, MAX_ITEMS)
  for (let i = 1; count < minProperties && i <= MAX_ITEMS; i++) add(`demo_${i}`, i)
  return out
}

function arrayFor(state: State, schema: SchemaObject, depth: number, shallow: boolean): unknown[] {
  // Draft 2020-12 writes a tuple as prefixItems + items; draft-07 as an items list + additionalItems.
  const tuple = Array.isArray(schema.prefixItems) ? schema.prefixItems : Array.isArray(schema.items) ? schema.items : []
  const rest = Array.isArray(schema.items) ? schema.additionalItems : (schema.items ?? schema.additionalItems)
  const minItems = Math.min(finite(schema.minItems) ?? 0, MAX_ITEMS)
  const maxItems = Math.min(finite(schema.maxItems) ?? Infinity, rest === false ? tuple.length : Infinity, MAX_ITEMS)
  const wanted = shallow ? minItems : Math.max(minItems, tuple.length || 1)
  const count = Math.max(0, Math.min(wanted, maxItems))
  const out: unknown[] = []
  for (let i = 0; i < count; i++) out.push(make(state, i < tuple.length ? tuple[i] : (rest ?? true), undefined, depth + 1, i))
  return out
}

function stringFor(state: State, schema: SchemaObject, key: string | undefined, variant: number): string {
  const format = typeof schema.format === 'string' && Object.hasOwn(FORMATS, schema.format) ? FORMATS[schema.format] : undefined
  let text = format ?? state.options.text(key) + (variant > 0 ? ` ${variant + 1}` : '')
  // JSON Schema counts code points; a UTF-16 cut keeps at most as many, and never half a pair.
  const maxLength = finite(schema.maxLength)
  if (maxLength !== undefined && text.length > maxLength) {
    text = text.slice(0, Math.max(0, maxLength))
    if (/[\ud800-\udbff]$/.test(text)) text = text.slice(0, -1)
  }
  const minLength = Math.min(finite(schema.minLength) ?? 0, MAX_STRING)
  state.values += Math.floor(minLength / 50)
  // At least length / 2 code points: only a text shorter than 2 * minLength (≤ 20,000) is counted.
  if (text.length < 2 * minLength) {
    let codePoints = 0
    for (const _ of text) codePoints++
    if (codePoints < minLength) text += '.'.repeat(minLength - codePoints)
  }
  return text
}

interface Bound {
  value: number
  open: boolean
}

/** The lower bound, from minimum / exclusiveMinimum (a number, or draft-04's boolean flag). */
function lowerBound(schema: SchemaObject): Bound | undefined {
  const min = finite(schema.minimum)
  if (schema.exclusiveMinimum === true) return min === undefined ? undefined : { value: min, open: true }
  const exclusive = finite(schema.exclusiveMinimum)
  if (exclusive !== undefined && (min === undefined || exclusive >= min)) return { value: exclusive, open: true }
  return min === undefined ? undefined : { value: min, open: false }
}

function upperBound(schema: SchemaObject): Bound | undefined {
  const max = finite(schema.maximum)
  if (schema.exclusiveMaximum === true) return max === undefined ? undefined : { value: max, open: true }
  const exclusive = finite(schema.exclusiveMaximum)
  if (exclusive !== undefined && (max === undefined || exclusive <= max)) return { value: exclusive, open: true }
  return max === undefined ? undefined : { value: max, open: false }
}

/** A number within the bounds, on multipleOf, near 1 + variant; the nearest bound when 1 is out. */
function numberFor(schema: SchemaObject, integer: boolean, variant: number): number {
  const low = lowerBound(schema)
  const high = upperBound(schema)
  const step = finite(schema.multipleOf) || (integer ? 1 : undefined)
  const tidy = (x: number) => Number(x.toPrecision(12)) // 100 * 0.01, not 1.0000000000000002
  let x = step ? tidy(Math.round((1 + variant) / step) * step) : 1 + variant
  if (low && (low.open ? x <= low.value : x < low.value)) {
    if (step) x = tidy((low.open ? Math.floor(low.value / step) + 1 : Math.ceil(low.value / step)) * step)
    else x = low.open ? (high ? (low.value + high.value) / 2 : low.value + 1) : low.value
  }
  if (high && (high.open ? x >= high.value : x > high.value)) {
    if (step) x = tidy((high.open ? Math.ceil(high.value / step) - 1 : Math.floor(high.value / step)) * step)
    else x = high.open ? (low ? (low.value + high.value) / 2 : high.value - 1) : high.value
  }
  return x
}

/** A local JSON pointer (`#`, `#/$defs/Name`, `#/properties/a/items`), resolved once per schema. */
function resolve(state: State, ref: string): unknown {
  if (state.refs.has(ref)) return state.refs.get(ref)
  let node: unknown
  if (ref === '#') node = state.root
  else if (ref.startsWith('#/')) {
    node = state.root
    for (const raw of ref.slice(2).split('/')) {
      let segment: string
      try {
        segment = raw.includes('%') ? decodeURIComponent(raw) : raw
        if (segment.includes('~')) segment = segment.replaceAll('~1', '/').replaceAll('~0', '~')
      } catch {
        node = undefined
        break
      }
      node = isObject(node) ? own(node, segment) : Array.isArray(node) ? node[Number(segment)] : undefined
    }
  }
  state.refs.set(ref, node)
  return node
}
