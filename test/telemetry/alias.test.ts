// Issue 10, "found configuring" 2: a call to an alias must show both what the caller asked for
// (`gen_ai.request.model`: the alias, or the model as sent with its provider prefix) and what served
// it (`llm.model`: the routed upstream model; `gen_ai.response.model`: the upstream's own name for
// it). Metric labels stay the upstream model, whatever the caller wrote.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { chatSpans, postChat, startObservedGateway } from './helpers.ts'

// Real gateway processes on a loaded machine: start-up alone can near tap's 30 s default.
t.setTimeout(120_000)

const dir = mkdtempSync(join(tmpdir(), 'gateway-alias-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const { gateway, receiver, upstream } = await startObservedGateway(t, (upstream) => {
  const configPath = join(dir, 'gateway.json')
  writeFileSync(
    configPath,
    JSON.stringify({
      providers: { local: { baseURL: upstream.openaiBaseURL, apiKeyEnv: 'LOCAL_KEY', models: ['llama3.2'] } },
      aliases: { fast: 'local/llama3.2', cheap: 'gpt-4o-mini' },
    }),
  )
  return { GATEWAY_CONFIG: configPath, LOCAL_KEY: 'local-key' }
})
upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })

/** The recorded answer names the model that served it: gpt-3.5-turbo-0125. */
const RESPONSE_MODEL = 'gpt-3.5-turbo-0125'

const cases = [
  { asked: 'fast', model: 'llama3.2', provider: 'local', stream: false },
  { asked: 'fast', model: 'llama3.2', provider: 'local', stream: true },
  { asked: 'cheap', model: 'gpt-4o-mini', provider: 'openai', stream: false },
  { asked: 'openai/gpt-4o', model: 'gpt-4o', provider: 'openai', stream: false },
  { asked: 'gpt-4o', model: 'gpt-4o', provider: 'openai', stream: false },
]

for (const c of cases) {
  t.test(`${c.asked}${c.stream ? ', streamed' : ''}: the span keeps what was asked and what served it`, async (t) => {
    if (c.stream) upstream.enqueue({ fixture: 'openai-chat-text-stream-include-usage' })
    const answer = await postChat(gateway.url, {
      model: c.asked,
      messages: [{ role: 'user', content: 'hi' }],
      ...(c.stream && { stream: true }),
    })
    t.equal(answer.status, 200)
    const { request, provider } = await chatSpans(receiver, answer.headers.get('x-trace-id') ?? '', { expected: 3, withServer: false })
    t.equal(request?.attributes['gen_ai.request.model'], c.asked, 'gen_ai.request.model: as the caller wrote it')
    t.equal(request?.attributes['llm.model'], c.model, 'llm.model: the upstream model it was routed to')
    t.equal(request?.attributes['llm.provider'], c.provider)
    t.match(request?.attributes['gen_ai.response.model'], c.stream ? /^gpt-/ : RESPONSE_MODEL, 'gen_ai.response.model: what the upstream said served it')
    t.equal(provider?.attributes['gen_ai.request.model'], c.model, 'the provider span: the model sent upstream')
  })
}

t.test('a reasoning-agent run on an alias: the run and its model calls keep the alias too', async (t) => {
  upstream.enqueue({ fixture: 'openai-chat-text-stream-include-usage' })
  const response = await fetch(`${gateway.url}/v1/agents/reasoning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }], tools: [] }),
  })
  t.equal(response.status, 200, await response.clone().text())
  const traceId = response.headers.get('x-trace-id')
  const spans = await receiver.waitForSpans((s) => s.traceId === traceId && (s.name === 'llm.request' || s.name === 'llm.reasoning_agent.stream'), 2)
  for (const span of spans) {
    t.equal(span.attributes['gen_ai.request.model'], 'fast', `${span.name}: gen_ai.request.model is the alias`)
    t.equal(span.attributes['llm.model'], 'llama3.2', `${span.name}: llm.model is the upstream model`)
  }
})

t.test('metric labels name the upstream model, never the alias', async (t) => {
  const text = await scrapeMetrics(gateway.url)
  t.equal(metricSum(text, 'llm_requests_total', { llm_model: 'llama3.2', llm_provider: 'local' }), 3, 'two chats and the agent\'s model call')
  t.equal(metricSum(text, 'llm_reasoning_requests_total', { llm_model: 'llama3.2', llm_provider: 'local' }), 1, 'the agent run')
  t.equal(metricSum(text, 'llm_requests_total', { llm_model: 'gpt-4o', llm_provider: 'openai' }), 2, 'gpt-4o and openai/gpt-4o: one series')
  t.equal(metricSum(text, 'llm_requests_total', { llm_model: 'gpt-4o-mini', llm_provider: 'openai' }), 1)
  t.notMatch(text, /"(fast|cheap|openai\/gpt-4o)"/, 'no alias or prefixed name as a label value')
})
