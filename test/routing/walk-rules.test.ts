// When a route group moves on, the edges: a 429 asking for a long wait moves the call to the next
// target at once (even with `retries`) instead of holding it; a 404 for something the caller named
// (a file) is the caller's answer and does not cool the target down; a 200 stream closed before any
// event answered nothing, so the group moves on.
import t from 'tap'
import { postChat } from '../telemetry/helpers.ts'
import { ANTHROPIC_TEXT, OPENAI_MODEL, TO_ANTHROPIC, anthropicAnswer, startFallbackStack } from './fallback-setup.ts'

t.setTimeout(120_000)

const stack = await startFallbackStack(t, {
  patient: { ...TO_ANTHROPIC, retries: 1 },
  files: { targets: [{ provider: 'openai', model: OPENAI_MODEL }, { provider: 'openai2', model: OPENAI_MODEL }], cooldown: { failures: 2, windowMs: 60_000, cooldownMs: 60_000 } } as never,
  'smart-chat': TO_ANTHROPIC,
})
const { gateway, first, second } = stack
const messages = [{ role: 'user', content: 'Tell me a joke about OpenTelemetry' }]

t.test('a 429 asking for 20 s moves on to the next target at once, though the group allows a retry', async (t) => {
  first.enqueue({ status: 429, headers: { 'retry-after': '20' }, json: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } } })
  second.enqueue(anthropicAnswer(false))
  const answer = await postChat(gateway.url, { model: 'patient', messages })
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('x-gateway-target'), 'anthropic2/claude-3-5-sonnet-20240620', 'served by target 2')
  t.match(answer.json, { choices: [{ message: { content: ANTHROPIC_TEXT } }] })
  t.equal(first.requests.length, 1, 'target 1 was not asked again after its 429')
})

t.test("a 404 for a file the caller named is the caller's answer: no fallback, and the target does not cool down", async (t) => {
  for (let i = 0; i < 3; i++) {
    first.enqueue({ status: 404, json: { error: { message: "No such File object: file-abc123", type: 'invalid_request_error', param: 'file_id', code: null } } })
    const answer = await postChat(gateway.url, { model: 'files', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-abc123' } }] }] })
    t.equal(answer.status, 404, `call ${i + 1}: the upstream's 404`)
    t.match(JSON.stringify(answer.json), /No such File object/)
  }
  t.equal(second.requests.length, 0, 'target 2 got nothing')
  const routes = (await (await fetch(`${gateway.url}/v1/routes`)).json()) as { data: Array<{ id: string; targets: Array<{ health: string }> }> }
  t.strictSame(routes.data.find((group) => group.id === 'files')?.targets.map((target) => target.health), ['healthy', 'healthy'], 'both targets stay healthy')
})

t.test('a 404 naming the model is the target\'s own: the group moves on', async (t) => {
  first.enqueue({ status: 404, json: { error: { message: 'The model `gpt-4o-mini` does not exist or you do not have access to it.', type: 'invalid_request_error', param: null, code: 'model_not_found' } } })
  second.enqueue({ status: 200, json: { id: 'chatcmpl-2', object: 'chat.completion', created: 1, model: OPENAI_MODEL, choices: [{ index: 0, message: { role: 'assistant', content: 'from the second account' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } } })
  const answer = await postChat(gateway.url, { model: 'files', messages })
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('x-gateway-target'), `openai2/${OPENAI_MODEL}`)
})

t.test('a 200 stream closed before any event moves on: the caller gets target 2\'s stream', async (t) => {
  first.enqueue({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: '' })
  second.enqueue(anthropicAnswer(true))
  const answer = await postChat(gateway.url, { model: 'smart-chat', messages, stream: true })
  t.equal(answer.status, 200)
  t.equal(answer.headers.get('x-gateway-target'), 'anthropic2/claude-3-5-sonnet-20240620', 'served by target 2')
  const text = answer.chunks.map((chunk) => ((chunk.choices as Array<{ delta?: { content?: string } }> | undefined)?.[0]?.delta?.content ?? '')).join('')
  t.equal(text, ANTHROPIC_TEXT, "target 2's words")
  t.equal(first.requests.length, 1)
})
