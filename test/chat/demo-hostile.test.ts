// Issue 10, defect 1, for the demo's structured answers: the demo is always on, even with real
// keys, so a hostile `response_format` schema must not hold the event loop for other callers, nor
// make a huge answer; /health is polled while each is processed. The shapes are small bodies that
// would take minutes (10^10 values for the fan-out) or gigabytes without the generator's bounds;
// the largest bodies of each shape (10 MB, where parsing the JSON is most of the cost) go through
// the demo in test/hardening/event-loop.test.ts. The bound is generous for a loaded 2-core CI.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { whilePollingHealth } from '../support/health-poll.ts'

t.setTimeout(300_000)
const gateway = await startGateway({ timeoutMs: 60_000 })
t.teardown(() => gateway.stop())

const BODY_LIMIT = 10 * 1024 * 1024
const HEALTH_BOUND_MS = 1000
/** About 1 MB of answer at most, whatever the schema (the generator's budget), plus the envelope. */
const ANSWER_BOUND = 2 * 1024 * 1024

/** Ten levels of ten references each: 10^10 values if expanded. */
function fanOut(): Record<string, unknown> {
  const $defs: Record<string, unknown> = { L0: { type: 'string' } }
  for (let level = 1; level <= 10; level++) {
    const names = Array.from({ length: 10 }, (_, i) => `p${i}`)
    $defs[`L${level}`] = { type: 'object', properties: Object.fromEntries(names.map((n) => [n, { $ref: `#/$defs/L${level - 1}` }])), required: names, additionalProperties: false }
  }
  return { $defs, $ref: '#/$defs/L10' }
}

/** More properties than the generator's budget, each one filled in: its most expensive answer. */
function wide(count: number): Record<string, unknown> {
  const names = Array.from({ length: count }, (_, i) => `property_${i}`)
  return { type: 'object', properties: Object.fromEntries(names.map((n) => [n, { type: 'string', minLength: 10 }])), required: names }
}

const schemaFormat = (schema: Record<string, unknown>) => ({ type: 'json_schema', json_schema: { name: 'hostile', schema } })
const user = [{ role: 'user', content: 'hi' }]

const CASES: Array<[string, Record<string, unknown>]> = [
  ['a $ref fan-out of 10^10 values', { messages: user, response_format: schemaFormat(fanOut()) }],
  ['a self-referencing schema', { messages: user, response_format: schemaFormat({ $ref: '#' }) }],
  ['minItems and minLength of a billion', { messages: user, response_format: schemaFormat({ type: 'array', minItems: 1e9, items: { type: 'string', minLength: 1e9 } }) }],
  ['15,000 properties, all filled in', { messages: user, response_format: schemaFormat(wide(15_000)) }],
  ['a 1 MB prompt of dots with json_object and the largest max_tokens', { messages: [{ role: 'user', content: '.'.repeat(1024 * 1024) }], response_format: { type: 'json_object' }, max_tokens: 2 ** 31 - 1 }],
]

// Warm-up: the first request of a process loads and compiles code paths; that is not what is measured.
for (const stream of [false, true]) {
  const warm = JSON.stringify({ model: 'demo-chat', stream, messages: user, response_format: schemaFormat({ type: 'object', properties: { a: { $ref: '#/$defs/A' } }, $defs: { A: { type: 'string' } } }) })
  await (await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: warm })).text()
}

for (const [name, fields] of CASES) {
  for (const stream of [false, true]) {
    t.test(`${name}${stream ? ', streamed' : ''}`, async (t) => {
      const body = JSON.stringify({ model: 'demo-chat', stream, ...fields })
      t.ok(Buffer.byteLength(body) < BODY_LIMIT, `the body fits the limit (${(body.length / 1024 / 1024).toFixed(1)} MiB)`)
      const { result, worstHealthMs, ms } = await whilePollingHealth(gateway.url, async () => {
        const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        return { status: response.status, text: await response.text() }
      })
      t.equal(result.status, 200, `answered in ${Math.round(ms)} ms: ${result.text.slice(0, 160)}`)
      t.ok(worstHealthMs < HEALTH_BOUND_MS, `/health answered within ${HEALTH_BOUND_MS} ms throughout (worst ${Math.round(worstHealthMs)} ms)`)
      t.ok(result.text.length < ANSWER_BOUND, `a bounded answer (${result.text.length} characters)`)
    })
  }
}
