// Issue 10, "what a new user trips over" 3: the demo ignored `max_tokens` and
// `max_completion_tokens`. Now it stops at the limit as a model does: the answer is cut (a prefix
// of the whole one), `finish_reason` is `length`, and `usage.completion_tokens` is within the
// limit, streamed and not; reasoning counts against the limit first, as OpenAI counts it.
import t from 'tap'
import OpenAI from 'openai'
import { LengthFinishReasonError } from 'openai/core/error'
import { z } from 'zod'
import { zodResponseFormat } from 'openai/helpers/zod'
import { startGateway } from '../support/gateway.ts'

t.setTimeout(180_000) // generous: CI shares its two cores, and each step starts or waits on a process
const gateway = await startGateway({ timeoutMs: 60_000 }) // generous: CI shares its cores
t.teardown(() => gateway.stop())
const client = gateway.client()

const messages = [{ role: 'user' as const, content: 'Tell me about the gateway' }]
const whole = await client.chat.completions.create({ model: 'demo-chat', messages })
const wholeText = whole.choices[0]?.message.content ?? ''

t.test('max_tokens cuts a plain answer: finish_reason length, usage within the limit', async (t) => {
  const completion = await client.chat.completions.create({ model: 'demo-chat', messages, max_tokens: 5 })
  const text = completion.choices[0]?.message.content ?? ''
  t.equal(completion.choices[0]?.finish_reason, 'length')
  t.ok(completion.usage && completion.usage.completion_tokens <= 5, `completion_tokens ${completion.usage?.completion_tokens} ≤ 5`)
  t.ok(text.length > 0 && wholeText.startsWith(text) && text.length < wholeText.length, `a prefix of the whole answer: "${text}"`)
})

t.test('max_completion_tokens, streamed with usage: the same cut, chunk by chunk', async (t) => {
  const stream = await client.chat.completions.create({ model: 'demo-chat', messages, max_completion_tokens: 8, stream: true, stream_options: { include_usage: true } })
  let text = ''
  let finish: string | null | undefined
  let usage: OpenAI.CompletionUsage | null | undefined
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? ''
    finish = chunk.choices[0]?.finish_reason ?? finish
    usage = chunk.usage ?? usage
  }
  t.equal(finish, 'length')
  t.ok(usage && usage.completion_tokens <= 8, `completion_tokens ${usage?.completion_tokens} ≤ 8`)
  t.ok(wholeText.startsWith(text) && text.length < wholeText.length, 'a prefix of the whole answer')
  const plain = await client.chat.completions.create({ model: 'demo-chat', messages, max_completion_tokens: 8 })
  t.equal(text, plain.choices[0]?.message.content, 'the same text as without streaming')
})

t.test('a limit the answer fits in changes nothing', async (t) => {
  const completion = await client.chat.completions.create({ model: 'demo-chat', messages, max_tokens: 4096 })
  t.equal(completion.choices[0]?.finish_reason, 'stop')
  t.equal(completion.choices[0]?.message.content, wholeText)
})

t.test('demo-reasoner: reasoning spends the limit first', async (t) => {
  const completion = await client.chat.completions.create({ model: 'demo-reasoner', messages, max_completion_tokens: 6 })
  const message = completion.choices[0]?.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string }
  t.equal(completion.choices[0]?.finish_reason, 'length')
  t.ok((message.reasoning_content ?? '').length > 0, 'some reasoning')
  t.equal(message.content, '', 'no room left for the answer')
  const usage = completion.usage
  t.ok(usage && usage.completion_tokens <= 6, `completion_tokens ${usage?.completion_tokens} ≤ 6`)
  t.ok(usage && (usage.completion_tokens_details?.reasoning_tokens ?? 0) <= usage.completion_tokens, 'reasoning tokens are part of them')
})

t.test('a tool call cut short ends with length, as the API does', async (t) => {
  const completion = await client.chat.completions.create({
    model: 'demo-chat',
    max_tokens: 2,
    messages: [{ role: 'user', content: 'Solve: 15 * 23 + 7' }],
    tools: [{ type: 'function', function: { name: 'calculator', parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] } } }],
  })
  t.equal(completion.choices[0]?.finish_reason, 'length')
  const call = completion.choices[0]?.message.tool_calls?.[0]
  t.ok(call?.type === 'function' && call.function.arguments.length <= 8, 'the arguments are cut too')
  t.ok(completion.usage && completion.usage.completion_tokens <= 2)
})

t.test('structured output cut by the limit: the SDK says so, as with a real model', async (t) => {
  const Recipe = z.object({ title: z.string(), steps: z.array(z.string()) })
  const error = await client.chat.completions
    .parse({ model: 'demo-chat', messages, max_tokens: 3, response_format: zodResponseFormat(Recipe, 'recipe') })
    .then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof LengthFinishReasonError, 'LengthFinishReasonError, not a JSON syntax error')
})
