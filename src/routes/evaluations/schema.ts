// The body of POST /v1/evaluations: one evaluation, or an array of them. The schema checks shapes;
// `checkEvaluation` checks what JSON Schema says badly (ids, finite scores, criterion and attribute
// names, attribute values) and names the field, `[3].trace_id` style in a batch.
import { invalidRequest } from '../../errors.ts'

export const MAX_BATCH = 100
const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9 _.:/-]*$'
const CRITERION = /^[a-zA-Z0-9_.-]{1,64}$/
const ATTRIBUTE_KEY = /^[a-zA-Z0-9_.-]{1,128}$/
const MAX_ATTRIBUTE_CHARS = 1024

export interface EvaluationBody {
  trace_id: string
  span_id: string
  name: string
  scores: Record<string, number>
  label?: string
  comment?: string
  attributes?: Record<string, string | number | boolean>
}

const evaluationSchema = {
  type: 'object',
  required: ['trace_id', 'span_id', 'name', 'scores'],
  properties: {
    trace_id: { type: 'string' },
    span_id: { type: 'string' },
    name: { type: 'string', minLength: 1, maxLength: 128, pattern: NAME_PATTERN },
    scores: { type: 'object', minProperties: 1, maxProperties: 64, additionalProperties: { type: 'number' } },
    label: { type: 'string', maxLength: 128 },
    comment: { type: 'string', maxLength: 4096 },
    // Values are strings, numbers or booleans, checked by checkEvaluation: `type: [...]` makes
    // ajv's strict mode warn at every start, and an anyOf would answer an object with "must be
    // string", the first branch's complaint.
    attributes: { type: 'object', maxProperties: 32 },
  },
} as const

export const evaluationsBodySchema = {
  anyOf: [evaluationSchema, { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: evaluationSchema }],
} as const

/** A W3C id: lowercase hex of the exact length, not all zeros (which W3C defines as invalid). */
function hexId(raw: string, length: number, field: string, what: string): string {
  const id = raw.trim().toLowerCase()
  if (id.length !== length || !/^[0-9a-f]+$/.test(id)) {
    throw invalidRequest(
      `\`${field}\` must be the ${length} hexadecimal characters of a W3C ${what} (as in x-${what.replace(' ', '-')} or trace_context), got "${raw.slice(0, 80)}" (${raw.length} characters).`,
      field,
    )
  }
  if (/^0+$/.test(id)) throw invalidRequest(`\`${field}\` is all zeros, which W3C Trace Context defines as an invalid ${what}.`, field)
  return id
}

export interface CheckedEvaluation {
  traceId: string
  spanId: string
  name: string
  scores: Record<string, number>
  label: string | undefined
  comment: string | undefined
  attributes: Record<string, string | number | boolean> | undefined
}

/** `prefix` is `[3].` inside a batch, '' otherwise. */
export function checkEvaluation(body: EvaluationBody, prefix: string): CheckedEvaluation {
  const traceId = hexId(body.trace_id, 32, `${prefix}trace_id`, 'trace id')
  const spanId = hexId(body.span_id, 16, `${prefix}span_id`, 'span id')
  for (const [criterion, score] of Object.entries(body.scores)) {
    if (!CRITERION.test(criterion)) {
      throw invalidRequest(
        `\`${prefix}scores\`: criterion "${criterion.slice(0, 80)}" must be 1 to 64 letters, digits, \`_\`, \`.\` or \`-\` (it becomes evaluation.<criterion>.score).`,
        `${prefix}scores`,
      )
    }
    // JSON has no Infinity, but 1e999 parses to it.
    if (!Number.isFinite(score)) throw invalidRequest(`\`${prefix}scores.${criterion}\` must be a finite number.`, `${prefix}scores.${criterion}`)
  }
  for (const [key, value] of Object.entries(body.attributes ?? {})) {
    if (!ATTRIBUTE_KEY.test(key)) {
      throw invalidRequest(
        `\`${prefix}attributes\`: key "${key.slice(0, 80)}" must be 1 to 128 letters, digits, \`_\`, \`.\` or \`-\`.`,
        `${prefix}attributes`,
      )
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw invalidRequest(`\`${prefix}attributes.${key}\` must be a string, a number or a boolean.`, `${prefix}attributes.${key}`)
    }
    if (typeof value === 'string' && value.length > MAX_ATTRIBUTE_CHARS) {
      throw invalidRequest(`\`${prefix}attributes.${key}\` is longer than ${MAX_ATTRIBUTE_CHARS} characters.`, `${prefix}attributes.${key}`)
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw invalidRequest(`\`${prefix}attributes.${key}\` must be a finite number.`, `${prefix}attributes.${key}`)
    }
  }
  return { traceId, spanId, name: body.name, scores: body.scores, label: body.label, comment: body.comment, attributes: body.attributes }
}
