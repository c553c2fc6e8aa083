// Issue 10, "what a new user trips over" 3: the demo ignored `response_format`, so
// `chat.completions.parse`, the AI SDK's `generateObject` and LangChain's `withStructuredOutput`
// all failed offline. Now the demo answers JSON valid against the schema the client sends (the
// client's own validation is the assertion), and a JSON object for json_object; streamed and not,
// with the clients in their default settings. Free strings in the answer carry the demo label.
import t from 'tap'
import { z } from 'zod'
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod'
import { generateObject, streamObject } from 'ai'
import { createOpenAI } from '@ai-sdk/openai'
import { startGateway } from '../support/gateway.ts'

t.setTimeout(180_000) // generous: CI shares its two cores, and each step starts or waits on a process
const gateway = await startGateway({ timeoutMs: 60_000 }) // generous: CI shares its cores
t.teardown(() => gateway.stop())
const client = gateway.client()

const LABEL = /offline demo provider/

const Recipe = z.object({
  title: z.string(),
  servings: z.int().min(1).max(12),
  difficulty: z.enum(['easy', 'medium', 'hard']),
  ingredients: z.array(z.object({ name: z.string(), grams: z.number().positive().nullable() })).min(2),
  steps: z.array(z.string()).min(1),
  source: z.url().nullable(),
  updated: z.iso.datetime(),
  vegetarian: z.boolean(),
})

const messages = [{ role: 'user' as const, content: 'A recipe for pancakes, please.' }]

t.test('openai: chat.completions.parse with zodResponseFormat gets a parsed, valid object', async (t) => {
  const completion = await client.chat.completions.parse({ model: 'demo-chat', messages, response_format: zodResponseFormat(Recipe, 'recipe') })
  const choice = completion.choices[0]
  t.equal(choice?.finish_reason, 'stop')
  const parsed = choice?.message.parsed
  t.ok(parsed, 'the SDK parsed the answer with the zod schema')
  t.ok(Recipe.safeParse(parsed).success, 'and it is valid')
  t.match(parsed?.title, LABEL, 'free strings say it is a demo')
  t.ok((parsed?.ingredients.length ?? 0) >= 2, 'minItems honoured')
  const again = await client.chat.completions.parse({ model: 'demo-chat', messages, response_format: zodResponseFormat(Recipe, 'recipe') })
  t.same(again.choices[0]?.message.parsed, parsed, 'deterministic')
})

t.test('openai: the streaming helper with zodResponseFormat parses the streamed answer', async (t) => {
  const stream = client.chat.completions.stream({ model: 'demo-chat', messages, response_format: zodResponseFormat(Recipe, 'recipe') })
  let deltas = 0
  stream.on('content.delta', () => deltas++)
  const completion = await stream.finalChatCompletion()
  t.ok(deltas > 1, `streamed in pieces (${deltas})`)
  t.ok(Recipe.safeParse(completion.choices[0]?.message.parsed).success, 'the accumulated answer is valid')
  t.equal(completion.choices[0]?.finish_reason, 'stop')
})

t.test('json_object: a JSON object that says it is a demo, streamed and not', async (t) => {
  const completion = await client.chat.completions.create({ model: 'demo-chat', messages, response_format: { type: 'json_object' } })
  const answer = JSON.parse(completion.choices[0]?.message.content ?? 'null') as Record<string, unknown>
  t.match(answer, { demo: LABEL }, 'a JSON object, labelled')
  const stream = await client.chat.completions.create({ model: 'demo-chat', messages, response_format: { type: 'json_object' }, stream: true })
  let text = ''
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
  t.same(JSON.parse(text), answer, 'the stream adds up to the same object')
})

t.test('json_schema without a schema: still a JSON object', async (t) => {
  const completion = await client.chat.completions.create({ model: 'demo-chat', messages, response_format: { type: 'json_schema', json_schema: { name: 'anything' } } })
  t.match(JSON.parse(completion.choices[0]?.message.content ?? 'null'), { demo: LABEL })
})

t.test('the tool turn comes first, with parsed arguments, and the answer after the tool result is the JSON', async (t) => {
  const tools = [zodFunction({ name: 'calculator', parameters: z.object({ expression: z.string() }) })]
  const Sum = z.object({ result: z.number(), explanation: z.string() })
  const ask = [{ role: 'user' as const, content: 'What is 2 + 3?' }]
  const first = await client.chat.completions.parse({ model: 'demo-chat', messages: ask, tools, response_format: zodResponseFormat(Sum, 'sum') })
  const call = first.choices[0]?.message.tool_calls?.[0]
  t.equal(first.choices[0]?.finish_reason, 'tool_calls')
  t.same(call?.type === 'function' ? call.function.parsed_arguments : undefined, { expression: '2 + 3' }, 'arguments parsed by the SDK against the strict tool schema')
  const second = await client.chat.completions.parse({
    model: 'demo-chat',
    tools,
    response_format: zodResponseFormat(Sum, 'sum'),
    messages: [...ask, { role: 'assistant', content: null, tool_calls: first.choices[0]?.message.tool_calls ?? [] }, { role: 'tool', tool_call_id: call?.id ?? '', content: '5' }],
  })
  t.ok(Sum.safeParse(second.choices[0]?.message.parsed).success, 'the final answer is valid JSON for the schema')
})

t.test('a forced tool (tool_choice naming it) is called with arguments valid against its schema', async (t) => {
  const Person = z.object({ name: z.string(), age: z.int().min(0).max(150), email: z.email().nullable(), tags: z.array(z.enum(['a', 'b'])) })
  const completion = await client.chat.completions.parse({
    model: 'demo-chat',
    messages: [{ role: 'user', content: 'Ada Lovelace, 36, what time is it?' }],
    tools: [zodFunction({ name: 'current_time', parameters: z.object({}) }), zodFunction({ name: 'extract_person', parameters: Person })],
    tool_choice: { type: 'function', function: { name: 'extract_person' } },
  })
  const call = completion.choices[0]?.message.tool_calls?.[0]
  t.equal(call?.type === 'function' ? call.function.name : undefined, 'extract_person', 'the forced tool, not the clock the prompt suggests')
  t.ok(Person.safeParse(call?.type === 'function' ? call.function.parsed_arguments : undefined).success, 'arguments valid for the strict schema')
})

// The AI SDK's default provider, `createOpenAI(...)(model)`, as a new user writes it: it speaks the
// Responses API, so the demo's JSON reaches it through /v1/responses (the chat route is covered by
// the `openai` client above).
const ai = createOpenAI({ baseURL: gateway.baseURL, apiKey: 'unused' })

t.test('AI SDK: generateObject with the default provider returns a valid object', async (t) => {
  const { object, finishReason } = await generateObject({ model: ai('demo-chat'), schema: Recipe, prompt: 'A recipe for pancakes, please.', maxRetries: 0 })
  t.ok(Recipe.safeParse(object).success, 'validated by the SDK against the zod schema')
  t.match(object.title, LABEL)
  t.equal(finishReason, 'stop')
})

t.test('AI SDK: streamObject with the default provider streams a valid object', async (t) => {
  const result = streamObject({ model: ai('demo-chat'), schema: Recipe, prompt: 'A recipe for pancakes, please.', maxRetries: 0 })
  let partials = 0
  for await (const _ of result.partialObjectStream) partials++
  const object = await result.object
  t.ok(partials > 1, `partial objects arrived (${partials})`)
  t.ok(Recipe.safeParse(object).success, 'the final object is valid')
})
