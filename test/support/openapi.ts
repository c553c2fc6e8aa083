// OpenAI's own OpenAPI document (test/fixtures/openai-openapi, see SOURCE.md there) as a
// validator: `validate('Response', body)` answers ajv's errors for `components.schemas.Response`,
// or [] when the value conforms. The document is OpenAPI 3.1 (JSON Schema 2020-12) with a few
// OpenAPI 3.0 habits left in it, which are rewritten into plain JSON Schema once, at load:
//   - `nullable: true` becomes a type that also allows null;
//   - `$recursiveRef: "#"` (2019-09, which the 2020-12 validator does not read) becomes a `$ref`
//     to the component it sits in;
//   - draft-04's boolean `exclusiveMinimum` becomes the 2020-12 number;
//   - `discriminator` (OpenAPI's: the tag names the one branch that applies) becomes ajv's: a
//     `oneOf` whose branches state their tag values, so an error says what is wrong with the
//     branch the tag names instead of listing every branch of the union.
// Formats: ajv-formats', plus the document's own `unixtime` (a number of seconds) and `png`.
// Parsing the 2.9 MB of YAML takes seconds, so its `components.schemas` are kept as JSON in the
// system's temp directory, named by the YAML's hash (a new copy of the document is a new file):
// later test files and runs read that in milliseconds. Each schema is compiled the first time it
// is asked for and kept.
import { createHash } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { Test } from 'tap'
import { parse } from 'yaml'

type Json = Record<string, unknown>
type Schemas = Record<string, Json>

const DOCUMENT = new URL('../fixtures/openai-openapi/openapi.yaml', import.meta.url)
const ROOT_ID = 'openai-openapi.json'

export type { ErrorObject }

let loaded: { ajv: Ajv2020; schemas: Schemas } | undefined
const compiled = new Map<string, ValidateFunction>()

/** ajv's errors for `value` against `components.schemas[schemaName]`; [] when it conforms. */
export function validate(schemaName: string, value: unknown): ErrorObject[] {
  const check = validator(schemaName)
  return check(value) ? [] : [...(check.errors ?? [])]
}

/**
 * The errors one per line: where in the value, the schema keyword that failed, ajv's message, and
 * the offending value itself (shortened), e.g.
 * `/usage/input_tokens_details  #/required  must have required property 'cached_tokens'  {"x":1}`.
 */
export function describeErrors(errors: ErrorObject[], value: unknown): string {
  return errors
    .map((e) => {
      const at = valueAt(value, e.instancePath)
      const shown = at === undefined ? 'undefined' : JSON.stringify(at)
      const detail = Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''
      return `${e.instancePath || '/'}  ${e.schemaPath}  ${e.message ?? ''}${detail}  ${shown.length > 240 ? `${shown.slice(0, 240)}…` : shown}`
    })
    .join('\n')
}

/** One assertion: `value` is a valid `schema`, else the diff lists its errors, one per line. */
export function conforms(t: Test, schema: string, value: unknown, what: string): void {
  t.equal(describeErrors(validate(schema, value), value), '', `${what}: a valid ${schema}`)
}

/**
 * For passthrough: `values` (what the gateway answered) may fail `schema` only where `sent` (what
 * the upstream sent) already does, event type by event type; every violation of the gateway's own
 * is listed. (OpenAI's recorded answers predate parts of the document, see the test's header.)
 */
export function addsNoViolation(t: Test, schema: string, values: unknown[], sent: unknown[], what: string): void {
  const signature = (value: unknown, e: ErrorObject) =>
    `${String((value as Json | undefined)?.type ?? '')} ${e.instancePath} ${e.schemaPath} ${e.message ?? ''}`
  const upstreamErrors = new Set(sent.flatMap((value) => validate(schema, value).map((e) => signature(value, e))))
  const added = values.flatMap((value) => {
    const errors = validate(schema, value).filter((e) => !upstreamErrors.has(signature(value, e)))
    return errors.length ? [describeErrors(errors, value)] : []
  })
  t.equal(added.join('\n'), '', `${what}: a valid ${schema}, or invalid only where the upstream's own answer was`)
}

function validator(schemaName: string): ValidateFunction {
  let check = compiled.get(schemaName)
  if (check) return check
  const { ajv, schemas } = load()
  if (!Object.hasOwn(schemas, schemaName)) throw new Error(`no schema ${schemaName} in OpenAI's OpenAPI document`)
  check = ajv.compile({ $ref: `${ROOT_ID}#/components/schemas/${schemaName}` })
  compiled.set(schemaName, check)
  return check
}

function load(): { ajv: Ajv2020; schemas: Schemas } {
  if (loaded) return loaded
  const schemas = parsedSchemas()
  for (const [name, schema] of Object.entries(schemas)) schemas[name] = normalise(schema, name) as Json
  const components = { schemas }
  applyDiscriminators(schemas)
  // strict: false — the document carries OpenAPI's own keywords (`example`, `x-oaiMeta`,
  // `x-stainless-const`, ...), which are annotations, not constraints.
  const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: true, validateFormats: true })
  addFormats.default(ajv)
  ajv.addFormat('unixtime', { type: 'number', validate: (n: number) => Number.isFinite(n) && n >= 0 })
  ajv.addFormat('png', true)
  ajv.addSchema({ $id: ROOT_ID, components })
  loaded = { ajv, schemas }
  return loaded
}

// Keywords whose value is a map of names to schemas, and those whose value is data, not schemas.
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas'])
const DATA = new Set(['enum', 'const', 'default', 'example', 'examples', 'required', 'discriminator'])

/** `components.schemas` as written in the YAML, from the JSON kept beside an earlier parse if any. */
function parsedSchemas(): Schemas {
  const text = readFileSync(DOCUMENT, 'utf8')
  const cached = join(tmpdir(), `openai-openapi-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.schemas.json`)
  try {
    return JSON.parse(readFileSync(cached, 'utf8')) as Schemas
  } catch {
    // Not there yet (or cut short): parse the YAML.
  }
  const schemas = (parse(text, { maxAliasCount: -1 }) as { components: { schemas: Schemas } }).components.schemas
  // Written aside and renamed, so a test file starting alongside never reads half a file.
  try {
    const partial = `${cached}.${process.pid}`
    writeFileSync(partial, JSON.stringify(schemas))
    renameSync(partial, cached)
  } catch {
    // A read-only temp directory: every test file parses the YAML then.
  }
  return schemas
}

/** The 3.0 / 2019-09 habits above rewritten as 2020-12, recursively; `component` is the enclosing schema's name. */
function normalise(node: unknown, component: string): unknown {
  if (Array.isArray(node)) return node.map((item) => normalise(item, component))
  if (!node || typeof node !== 'object') return node
  const source = node as Json
  const out: Json = {}
  for (const [key, value] of Object.entries(source)) {
    if (key === '$recursiveAnchor' || key === 'nullable') continue
    if (key === '$recursiveRef') out.$ref = `#/components/schemas/${component}`
    else if (DATA.has(key) || key.startsWith('x-')) out[key] = value
    else if (SCHEMA_MAPS.has(key) && value && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.entries(value as Json).map(([name, schema]) => [name, normalise(schema, component)]))
    } else out[key] = normalise(value, component)
  }
  if (typeof out.exclusiveMinimum === 'boolean') {
    if (out.exclusiveMinimum && typeof out.minimum === 'number') {
      out.exclusiveMinimum = out.minimum
      delete out.minimum
    } else delete out.exclusiveMinimum
  }
  if (source.nullable !== true) return out
  if (typeof out.type === 'string' || Array.isArray(out.type)) {
    out.type = [...new Set([out.type, 'null'].flat())]
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null]
    return out
  }
  // No type of its own (a $ref, a union): null beside it.
  return { anyOf: [out, { type: 'null' }] }
}

/**
 * Makes each `discriminator` one ajv can read, in place: the union becomes a `oneOf` whose branches
 * each state their tag values in their own `properties` (ajv looks no further than one `$ref`, and
 * many branches here fix the tag inside an `allOf`). Where the branches do not each fix distinct,
 * required tag values (a union of input items, where a message's `type` is optional), the
 * discriminator is dropped and the union is checked as written.
 */
function applyDiscriminators(schemas: Schemas): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit)
    if (!node || typeof node !== 'object') return
    const schema = node as Json
    for (const value of Object.values(schema)) visit(value)
    const tag = (schema.discriminator as Json | undefined)?.propertyName
    if (tag === undefined) return
    delete schema.discriminator
    const union = Array.isArray(schema.oneOf) ? 'oneOf' : Array.isArray(schema.anyOf) ? 'anyOf' : undefined
    if (typeof tag !== 'string' || !union) return
    const branches = schema[union] as Json[]
    const topRequired = requires(schema, tag, schemas, 0)
    const tagged = branches.map((branch) => ({ branch, values: tagValues(branch, tag, schemas, 0) }))
    const all = tagged.flatMap((b) => b.values ?? [])
    const distinct = new Set(all).size === all.length
    if (!distinct || tagged.some((b) => !b.values?.length || !(topRequired || requires(b.branch, tag, schemas, 0)))) return
    // Distinct required tags: at most one branch can match, so an `anyOf` is a `oneOf`.
    delete schema[union]
    schema.oneOf = tagged.map(({ branch, values }) => ({ allOf: [branch], properties: { [tag]: { enum: values } }, required: [tag] }))
    schema.discriminator = { propertyName: tag }
  }
  visit(schemas)
}

/** Follows a local `$ref` (one hop); the depth guards the document's recursive schemas. */
function target(schema: Json, schemas: Schemas): Json | undefined {
  const ref = schema.$ref
  if (typeof ref !== 'string') return schema
  const name = /^#\/components\/schemas\/([^/]+)$/.exec(ref)?.[1]
  return name === undefined ? undefined : schemas[name]
}

/** The string values a schema allows for `properties[tag]`, through `$ref`, `allOf` and unions; undefined if unbounded. */
function tagValues(node: Json, tag: string, schemas: Schemas, depth: number): string[] | undefined {
  const schema = target(node, schemas)
  if (!schema || depth > 8) return undefined
  const own = (schema.properties as Record<string, Json> | undefined)?.[tag]
  const fixed = own?.const !== undefined ? [own.const] : own?.enum
  if (Array.isArray(fixed)) return fixed.every((v) => typeof v === 'string') ? (fixed as string[]) : undefined
  for (const member of (schema.allOf as Json[] | undefined) ?? []) {
    const values = tagValues(member, tag, schemas, depth + 1)
    if (values) return values
  }
  const union = (schema.oneOf ?? schema.anyOf) as Json[] | undefined
  if (!union) return undefined
  const each = union.map((branch) => tagValues(branch, tag, schemas, depth + 1))
  return each.every((v) => v !== undefined) ? each.flat() as string[] : undefined
}

/** Whether a schema requires `tag`, through `$ref`, `allOf` and (every branch of) unions. */
function requires(node: Json, tag: string, schemas: Schemas, depth: number): boolean {
  const schema = target(node, schemas)
  if (!schema || depth > 8) return false
  if (Array.isArray(schema.required) && schema.required.includes(tag)) return true
  if (((schema.allOf as Json[] | undefined) ?? []).some((member) => requires(member, tag, schemas, depth + 1))) return true
  const union = (schema.oneOf ?? schema.anyOf) as Json[] | undefined
  return union !== undefined && union.length > 0 && union.every((branch) => requires(branch, tag, schemas, depth + 1))
}

/** The value at an ajv instance path (`/output/0/content`), or undefined. */
function valueAt(value: unknown, pointer: string): unknown {
  if (pointer === '') return value
  let at: unknown = value
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    if (!at || typeof at !== 'object') return undefined
    at = (at as Json)[key]
  }
  return at
}
