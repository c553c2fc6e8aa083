// The offline demo provider through the real OpenAI client: what a newcomer sees with no keys.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'

t.setTimeout(180_000) // generous: CI shares its two cores, and each step starts or waits on a process
const gateway = await startGateway({ timeoutMs: 60_000 })
t.teardown(() => gateway.stop())
const client = gateway.client()

t.test('non-streaming answer says it is a demo, with usage, zero cost and trace ids', async (t) => {
  const { data, response } = await client.chat.completions
    .create({ model: 'demo-chat', messages: [{ role: 'user', content: 'Hello gateway' }] })
    .withResponse()
  const body = data as typeof data & { trace_context: { trace_id: string; span_id: string }; usage: { cost_usd: number } }
  t.match(body.choices[0]?.message.content, /offline demo provider/)
  t.match(body.choices[0]?.message.content, /Hello gateway/)
  t.equal(body.usage.cost_usd, 0, 'the demo is free, and says so with a real zero')
  t.ok(body.usage.prompt_tokens > 0 && body.usage.completion_tokens > 0)
  t.match(response.headers.get('x-trace-id'), /^[0-9a-f]{32}$/)
  t.equal(body.trace_context.trace_id, response.headers.get('x-trace-id'))
  t.equal(body.trace_context.span_id, response.headers.get('x-span-id'))
})

t.test('streams word by word and ends with trace_context on the final chunk', async (t) => {
  const stream = await client.chat.completions.create({
    model: 'demo-chat',
    stream: true,
    messages: [{ role: 'user', content: 'Stream please' }],
  })
  const chunks = []
  for await (const chunk of stream) chunks.push(chunk)
  t.ok(chunks.length > 5, 'more than a handful of chunks')
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')
  t.match(text, /offline demo provider/)
  t.notOk(chunks.some((c) => c.usage), 'no usage chunk when the caller did not ask')
  const last = chunks.at(-1) as (typeof chunks)[number] & { trace_context?: { trace_id: string } }
  t.match(last.trace_context?.trace_id, /^[0-9a-f]{32}$/)
  t.equal(last.choices[0]?.finish_reason, 'stop')
})

t.test('calls the offered tool with arithmetic pulled from the prompt', async (t) => {
  const completion = await client.chat.completions.create({
    model: 'demo-chat',
    messages: [{ role: 'user', content: 'Solve: 15 * 23 + 7' }],
    tools: [
      {
        type: 'function',
        function: { name: 'calculator', parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] } },
      },
    ],
  })
  const call = completion.choices[0]?.message.tool_calls?.[0]
  t.equal(completion.choices[0]?.finish_reason, 'tool_calls')
  t.equal(call?.type === 'function' ? call.function.name : undefined, 'calculator')
  t.same(JSON.parse(call?.type === 'function' ? call.function.arguments : '{}'), { expression: '15 * 23 + 7' })
})

t.test('GET /v1/models labels the demo models as a demo', async (t) => {
  const models = await client.models.list()
  const demo = models.data.filter((m) => m.id.startsWith('demo-'))
  t.same(demo.map((m) => m.id).sort(), ['demo-chat', 'demo-reasoner'])
  for (const m of demo) t.match(m.owned_by, /offline demo provider/)
})
