// Issue 10, defect 1: whatever the body (up to BODY_LIMIT_BYTES), one request must not freeze the
// gateway for everyone else. Each input shape that once took seconds or minutes of one core
// (20,000 one-word messages merged quadratically for Claude, 200,000 system parts spread onto the
// stack, 80 KB of `.` through the demo's argument regex) is sent at the largest size under the
// default 10 MiB limit through every translator and route, while the test polls GET /health.
// The request must answer (2xx or 4xx, never 5xx, never a hang) and /health must keep answering.
// The bound is generous: CI is a loaded 2-core VM, parsing and validating 10 MB of JSON alone is a
// few hundred milliseconds there, and before the fixes these shapes held /health for 5–10 s and more.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'

t.setTimeout(600_000)

/** The default BODY_LIMIT_BYTES. */
const BODY_LIMIT = 10 * 1024 * 1024
/** Worst /health latency allowed while a body is processed. */
const HEALTH_BOUND_MS = 1000
/** A request still unanswered after this long has hung. */
const ANSWER_WITHIN_MS = 120_000

const upstream = await startUpstream()
const gateway = await startGateway({ timeoutMs: 30_000, env: providerEnv(upstream) })
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
})

const CHAT = '/v1/chat/completions' as const
const AGENT = '/v1/agents/reasoning' as const

interface Target {
  name: string
  path: string
  model: string
  /** What the emulator answers, for targets with an upstream. */
  fixture?: string
}

const TARGETS: Target[] = [
  { name: 'chat → claude (Anthropic translator)', path: CHAT, model: 'claude-sonnet-4-5', fixture: 'anthropic-messages-text-nonstream' },
  { name: 'chat → gpt (OpenAI passthrough)', path: CHAT, model: 'gpt-4o-mini', fixture: 'openai-chat-text-nonstream' },
  { name: 'chat → demo-chat', path: CHAT, model: 'demo-chat' },
  { name: 'agent → demo-chat', path: AGENT, model: 'demo-chat' },
  { name: 'agent → claude (streamed Anthropic)', path: AGENT, model: 'claude-sonnet-4-5', fixture: 'anthropic-messages-text-stream' },
]

/** A tool whose arguments the demo derives from the prompt (its regex runs on the caller's text). */
const calculator = {
  type: 'function',
  function: { name: 'calculator', parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] } },
}

interface Shape {
  name: string
  /** The body's fields beside `model`, with `n` repetitions of the shape's unit. */
  build(n: number, target: Target): Record<string, unknown>
  /** The one route that takes this shape (tool definitions: chat; tool names: the agent). */
  only?: typeof CHAT | typeof AGENT
}

const user = (content: unknown) => ({ role: 'user', content })
const repeat = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i))

const SHAPES: Shape[] = [
  {
    // Merged into one Anthropic turn: the 8.5 s (20,000) and 10+ min (280,000) reproduction.
    name: 'many messages of one role',
    build: (n) => ({ messages: repeat(n, () => user('x')) }),
  },
  {
    // `system.push(...blocks)`: 200,000 parts overflowed the stack (a 500).
    name: 'a system message of many parts',
    build: (n) => ({ messages: [{ role: 'system', content: repeat(n, () => ({ type: 'text', text: 'x' })) }, user('hi')] }),
  },
  {
    name: 'a user message of many parts',
    build: (n) => ({ messages: [user(repeat(n, () => ({ type: 'text', text: 'x' })))] }),
  },
  {
    name: 'an assistant message with many tool calls',
    build: (n) => ({
      messages: [
        user('hi'),
        { role: 'assistant', content: null, tool_calls: repeat(n, (i) => ({ id: `c${i}`, type: 'function', function: { name: 'f', arguments: '{}' } })) },
        { role: 'tool', tool_call_id: 'c0', content: '1' },
      ],
    }),
  },
  {
    // The demo fills every required property: `required.includes` per property was quadratic.
    name: 'one tool with a huge parameter schema',
    only: CHAT,
    build: (n) => {
      const names = repeat(n, (i) => `p${i}`)
      const properties = Object.fromEntries(names.map((name) => [name, { type: 'string' }]))
      return { messages: [user('hi')], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties, required: names } } }] }
    },
  },
  {
    name: 'many tools',
    only: CHAT,
    build: (n) => ({ messages: [user('hi')], tools: repeat(n, (i) => ({ type: 'function', function: { name: `f${i}`, parameters: { type: 'object' } } })) }),
  },
  {
    // Runs of the demo regex's own class without a digit: quadratic before the fix.
    name: 'one huge string of dots',
    build: (n, target) => ({ messages: [user('.'.repeat(n))], ...(target.path === CHAT ? { tools: [calculator] } : {}) }),
  },
  {
    // Agent tool names are checked for uniqueness and existence; a long list is refused cheaply.
    name: 'many agent tool names',
    only: AGENT,
    build: (n) => ({ messages: [user('hi')], tools: repeat(n, (i) => `tool_${i}`) }),
  },
]

/** The largest `n` whose body stays under the limit: body sizes are affine in `n`. */
function largest(shape: Shape, target: Target): string {
  const text = (n: number) => JSON.stringify({ model: target.model, ...shape.build(n, target) })
  const one = text(1).length
  const perItem = text(2).length - one
  if (perItem === 0) return text(1)
  const n = 1 + Math.floor((BODY_LIMIT - 1024 - one) / perItem)
  let body = text(n)
  // Numbered ids grow by a digit now and then: trim until it fits.
  for (let k = n; Buffer.byteLength(body) >= BODY_LIMIT; k -= Math.ceil(k / 100)) body = text(k)
  return body
}

/** A subtest's `t`. */
type Test = Parameters<Parameters<typeof t.test>[0]>[0]

interface Outcome {
  status: number
  text: string
  ms: number
  worstHealthMs: number
}

/** Sends `body` while polling /health every ~20 ms; the worst /health latency seen meanwhile. */
async function sendWhilePolling(path: string, body: string): Promise<Outcome> {
  let worst = 0
  let done = false
  const poll = (async () => {
    while (!done) {
      const started = performance.now()
      const response = await fetch(`${gateway.url}/health`)
      await response.arrayBuffer()
      worst = Math.max(worst, performance.now() - started)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  const started = performance.now()
  try {
    const response = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    })
    const text = await response.text()
    return { status: response.status, text, ms: performance.now() - started, worstHealthMs: worst }
  } finally {
    done = true
    await poll
  }
}

/** Subtest body: the body answers without a 5xx and /health stays responsive. */
async function check(t: Test, target: Target, body: string): Promise<void> {
  upstream.reset()
  if (target.fixture) upstream.setDefault({ fixture: target.fixture })
  const outcome = await sendWhilePolling(target.path, body)
  const size = `${(body.length / 1024 / 1024).toFixed(1)} MiB`
  t.ok(outcome.status >= 200 && outcome.status < 500, `answered ${outcome.status} in ${Math.round(outcome.ms)} ms (${size}): ${outcome.text.slice(0, 200)}`)
  t.ok(outcome.worstHealthMs < HEALTH_BOUND_MS, `/health answered within ${HEALTH_BOUND_MS} ms throughout (worst ${Math.round(outcome.worstHealthMs)} ms)`)
}


for (const shape of SHAPES) {
  t.test(shape.name, async (t) => {
    for (const target of TARGETS) {
      if (shape.only && target.path !== shape.only) continue
      await t.test(target.name, (t) => check(t, target, largest(shape, target)))
    }
  })
}

t.test("the issue's reproduction: 80 KB of `.` through /v1/agents/reasoning with demo-chat", async (t) => {
  const target = TARGETS.find((x) => x.path === AGENT && x.model === 'demo-chat')!
  await check(t, target, JSON.stringify({ model: target.model, messages: [user('.'.repeat(80_000))] }))
})

t.test('afterwards: nothing failed inside the gateway, and it still serves', async (t) => {
  t.notOk(gateway.logs().some((l) => typeof l.status === 'number' && l.status >= 500), 'no 5xx was logged')
  t.equal(gateway.child.exitCode, null, 'the process is alive')
  const response = await fetch(`${gateway.url}/health`)
  t.equal(response.status, 200)
})
