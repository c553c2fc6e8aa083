// Usage and cost, for every recorded 200 exchange of both providers, streamed and not, through the
// real gateway and the real OpenAI client. The contract: usage is always metered (the gateway
// asks upstream for stream usage itself, and forwards the usage chunk only when the caller asked);
// streamed usage equals non-streamed usage, cache read/write tokens included; cost_usd is the
// price book's cost of the recorded numbers, absent when the model has no price.
//
// Each recording is replayed in its own mode and in the other one, derived from it by
// test/support/fixture-variants.ts (derived, not recorded: see there). The expected numbers below
// are written out by hand from the recordings; the first test checks them against the recordings
// and the price book, so a typo cannot hide.
import t from 'tap'
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions'
import type { CompletionUsage } from 'openai/resources/completions'
import type { Usage } from '../../src/core/types.ts'
import { PriceBook, computeCost } from '../../src/pricing/cost.ts'
import { PRICES } from '../../src/providers/registry.ts'
import { fixtureNames, loadFixture } from '../support/fixtures.ts'
import type { RecordedExchange } from '../support/fixtures.ts'
import { startGateway } from '../support/gateway.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import {
  anthropicMessageToSse,
  anthropicSseToMessage,
  jsonReply,
  openaiSseToCompletion,
  recordedAsStream,
  sseReply,
} from '../support/fixture-variants.ts'

type Json = Record<string, unknown>

/** The usage object a caller gets: OpenAI's, plus the gateway's cost and LiteLLM's Anthropic cache counts. */
type GatewayUsage = CompletionUsage & {
  cost_usd?: number
  cache_creation_input_tokens?: number
  cache_read_input_tokens?: number
}

interface Expected {
  provider: 'openai' | 'anthropic'
  /** prompt_tokens: every prompt token, cache reads and writes included. */
  prompt: number
  completion: number
  /** prompt_tokens_details.cached_tokens (= Anthropic cache_read_input_tokens). */
  cached: number
  /** Anthropic cache_creation_input_tokens (0 for OpenAI, which reports none). */
  cacheWrite: number
  /** The part of cacheWrite written with the 1-hour TTL. */
  cacheWrite1h: number
  /** USD; undefined = the model has no price, so no cost_usd may appear. */
  costUsd: number | undefined
}

/** A recording whose stream was captured without usage: nothing to expect, nothing to invent. */
const NO_USAGE = 'no usage in the recording'

// Costs: USD per million tokens from the providers' prices.ts, for the model the request names
// (the price book tries the dated id, then the undated one).
//   OpenAI:    (prompt − cached) × input + cached × cacheRead + completion × output
//   Anthropic: input × input + cache_read × cacheRead + cache_write × cacheWrite(1h) + output × output
const EXPECTED: Record<string, Expected | typeof NO_USAGE> = {
  // gpt-5 $1.25 / $10: 241 × 1.25 + 214 × 10 = 2441.25 µ$
  'openai-chat-custom-tool-call-nonstream': { provider: 'openai', prompt: 241, completion: 214, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.00244125 },
  // gpt-4o-2024-08-06 → gpt-4o $2.5 / $10: 127 × 2.5 + 93 × 10 = 1247.5 µ$
  'openai-chat-json-schema-nested-nonstream': { provider: 'openai', prompt: 127, completion: 93, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.0012475 },
  // gpt-4o: 68 × 2.5 + 37 × 10 = 540 µ$
  'openai-chat-json-schema-nonstream': { provider: 'openai', prompt: 68, completion: 37, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.00054 },
  // gpt-4o: 65 × 2.5 + 13 × 10 = 292.5 µ$
  'openai-chat-json-schema-refusal-nonstream': { provider: 'openai', prompt: 65, completion: 13, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.0002925 },
  // gpt-3.5-turbo $0.5 / $1.5: 70 × 0.5 + 46 × 1.5 = 104 µ$
  'openai-chat-parallel-tool-calls-nonstream': { provider: 'openai', prompt: 70, completion: 46, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.000104 },
  'openai-chat-parallel-tool-calls-stream': NO_USAGE,
  // gpt-4o-mini $0.15 / cached $0.075 / $0.6: 125 × 0.15 + 1024 × 0.075 + 353 × 0.6 = 307.35 µ$
  'openai-chat-prompt-cache-hit-nonstream': { provider: 'openai', prompt: 1149, completion: 353, cached: 1024, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.00030735 },
  // gpt-5-nano $0.05 / $0.4: 11 × 0.05 + 138 × 0.4 = 55.75 µ$
  'openai-chat-reasoning-tokens-nonstream': { provider: 'openai', prompt: 11, completion: 138, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.00005575 },
  // gpt-3.5-turbo: 15 × 0.5 + 19 × 1.5 = 36 µ$
  'openai-chat-text-nonstream': { provider: 'openai', prompt: 15, completion: 19, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.000036 },
  // gpt-4o-mini: 23 × 0.15 + 8 × 0.6 = 8.25 µ$
  'openai-chat-text-stream-include-usage': { provider: 'openai', prompt: 23, completion: 8, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.00000825 },
  'openai-chat-text-stream-no-usage': NO_USAGE,
  // gpt-4 $30 / $60: 67 × 30 + 18 × 60 = 3090 µ$
  'openai-chat-tool-call-nonstream': { provider: 'openai', prompt: 67, completion: 18, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.00309 },
  // gpt-4o-mini: 59 × 0.15 + 17 × 0.6 = 19.05 µ$
  'openai-chat-tool-call-stream-include-usage': { provider: 'openai', prompt: 59, completion: 17, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.00001905 },

  // claude-3-5-sonnet $3 / read $0.3 / write $3.75 / $15: 4 × 3 + 1163 × 0.3 + 202 × 15 = 3390.9 µ$
  'anthropic-messages-cache-read-nonstream': { provider: 'anthropic', prompt: 4 + 1163, completion: 202, cached: 1163, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.0033909 },
  // claude-sonnet-4 $3 / 1h write $6 / $15: 17 × 3 + 2056 × 6 + 100 × 15 = 13887 µ$
  'anthropic-messages-cache-write-1h-ttl-nonstream': { provider: 'anthropic', prompt: 17 + 2056, completion: 100, cached: 0, cacheWrite: 2056, cacheWrite1h: 2056, costUsd: 0.013887 },
  // claude-3-5-sonnet: 4 × 3 + 1163 × 3.75 + 187 × 15 = 7178.25 µ$
  'anthropic-messages-cache-write-nonstream': { provider: 'anthropic', prompt: 4 + 1163, completion: 187, cached: 0, cacheWrite: 1163, cacheWrite1h: 0, costUsd: 0.00717825 },
  // claude-3-5-sonnet: 4 × 3 + 1165 × 3.75 + 201 × 15 = 7395.75 µ$ (output from message_delta, not message_start's 1)
  'anthropic-messages-cache-write-stream': { provider: 'anthropic', prompt: 4 + 1165, completion: 201, cached: 0, cacheWrite: 1165, cacheWrite1h: 0, costUsd: 0.00739575 },
  // claude-3-opus $15 / $75: 17 × 15 + 220 × 75 = 16755 µ$ (recorded before cache fields existed)
  'anthropic-messages-text-nonstream-legacy-usage': { provider: 'anthropic', prompt: 17, completion: 220, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.016755 },
  // claude-3-opus: 17 × 15 + 137 × 75 = 10530 µ$
  'anthropic-messages-text-nonstream': { provider: 'anthropic', prompt: 17, completion: 137, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.01053 },
  // claude-3-haiku $0.25 / $1.25: 17 × 0.25 + 171 × 1.25 = 218 µ$
  'anthropic-messages-text-stream': { provider: 'anthropic', prompt: 17, completion: 171, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.000218 },
  // claude-opus-4-1 $15 / $75: 49 × 15 + 186 × 75 = 14685 µ$
  'anthropic-messages-thinking-nonstream-opus41-beta': { provider: 'anthropic', prompt: 49, completion: 186, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.014685 },
  // claude-3-7-sonnet $3 / $15: 52 × 3 + 215 × 15 = 3381 µ$
  'anthropic-messages-thinking-nonstream': { provider: 'anthropic', prompt: 52, completion: 215, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.003381 },
  // claude-3-5-sonnet: 514 × 3 + 152 × 15 = 3822 µ$
  'anthropic-messages-tool-use-nonstream': { provider: 'anthropic', prompt: 514, completion: 152, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.003822 },
  // claude-3-5-sonnet: 506 × 3 + 153 × 15 = 3813 µ$
  'anthropic-messages-tool-use-stream': { provider: 'anthropic', prompt: 506, completion: 153, cached: 0, cacheWrite: 0, cacheWrite1h: 0, costUsd: 0.003813 },
}

// ---------------------------------------------------------------- the fixtures

const ALL = [...fixtureNames('openai-chat-'), ...fixtureNames('anthropic-messages-')]
const SKIPPED = ALL.filter((name) => loadFixture(name).meta.http_status !== 200)
const REPLAYED = ALL.filter((name) => loadFixture(name).meta.http_status === 200)

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0
}

/** The recorded request's model: the gateway routes it (bare gpt-* / claude-* prefix) and prices it. */
function requestModel(name: string): string {
  return String((JSON.parse(loadFixture(name).request.body) as Json).model)
}

/**
 * The usage numbers as the recording states them (meta.usage), mapped per the SPEC:
 * prompt_tokens = input + cache_read + cache_creation; for a recorded Anthropic stream,
 * message_start's usage with every later non-null message_delta field overriding it.
 */
function recordedNumbers(fixture: RecordedExchange): Omit<Expected, 'costUsd'> | undefined {
  const usage = fixture.meta.usage
  if (!usage) return undefined
  if (fixture.meta.api === 'openai.chat.completions') {
    const details = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {}
    return {
      provider: 'openai',
      prompt: num(usage.prompt_tokens),
      completion: num(usage.completion_tokens),
      cached: num(details.cached_tokens),
      cacheWrite: num(usage.cache_creation_input_tokens),
      cacheWrite1h: 0,
    }
  }
  let merged: Json = usage
  const start = usage['message_start.message.usage']
  if (isObject(start)) {
    merged = { ...start }
    const late = usage['message_delta.usage']
    if (isObject(late)) for (const [field, value] of Object.entries(late)) if (value != null) merged[field] = value
  }
  const cacheRead = num(merged.cache_read_input_tokens)
  const cacheWrite = num(merged.cache_creation_input_tokens)
  const creation = isObject(merged.cache_creation) ? merged.cache_creation : {}
  return {
    provider: 'anthropic',
    prompt: num(merged.input_tokens) + cacheRead + cacheWrite,
    completion: num(merged.output_tokens),
    cached: cacheRead,
    cacheWrite,
    cacheWrite1h: num(creation.ephemeral_1h_input_tokens),
  }
}

/** The price book's cost of the expected numbers (internal Usage: input = every prompt token). */
function priceBookCost(name: string, expected: Expected): number | undefined {
  const price = new PriceBook(PRICES).lookup(expected.provider, requestModel(name))
  if (!price) return undefined
  const usage: Usage = {
    input: expected.prompt,
    output: expected.completion,
    cacheRead: expected.cached,
    cacheWrite: expected.cacheWrite,
    cacheWrite1h: expected.cacheWrite1h,
    reasoning: 0,
  }
  return computeCost(usage, price).total
}

// ---------------------------------------------------------------- requests

type Block = { type?: unknown; text?: unknown; cache_control?: unknown }

function textParts(content: unknown, where: string): string | Json[] {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) throw new Error(`${where}: unexpected content`)
  return (content as Block[]).map((block, i) => {
    if (block.type !== 'text') throw new Error(`${where}[${i}]: only text blocks are translated here, got ${String(block.type)}`)
    return block.cache_control ? { type: 'text', text: block.text, cache_control: block.cache_control } : { type: 'text', text: block.text }
  })
}

/**
 * An Anthropic Messages request as the equivalent OpenAI request the gateway takes: model,
 * system → system message, messages, max_tokens, temperature, tools, thinking → reasoning_effort
 * (budget 1024 = `minimal`, the gateway's smallest budget). The emulator replays the recording
 * whatever the gateway sends, so this only has to be a valid request of the same shape.
 */
function openaiRequestFromAnthropic(body: Json): Json {
  const messages: Json[] = []
  if (body.system !== undefined) messages.push({ role: 'system', content: textParts(body.system, 'system') })
  ;(body.messages as Json[]).forEach((m, i) => messages.push({ role: m.role, content: textParts(m.content, `messages[${i}].content`) }))
  const request: Json = { model: body.model, messages, max_tokens: body.max_tokens }
  if (body.temperature !== undefined) request.temperature = body.temperature
  if (Array.isArray(body.tools)) {
    request.tools = (body.tools as Json[]).map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.input_schema },
    }))
  }
  if (isObject(body.thinking) && body.thinking.type === 'enabled') {
    const budget = num(body.thinking.budget_tokens)
    request.reasoning_effort = budget <= 1024 ? 'minimal' : budget <= 2048 ? 'low' : budget <= 8192 ? 'medium' : 'high'
  }
  return request
}

/** The recorded request as the gateway's caller sends it, without any stream flags. */
function callerRequest(name: string): ChatCompletionCreateParamsNonStreaming {
  const fixture = loadFixture(name)
  const body = JSON.parse(fixture.request.body) as Json
  const request = fixture.meta.api === 'anthropic.messages' ? openaiRequestFromAnthropic(body) : { ...body }
  delete request.stream
  delete request.stream_options
  return request as unknown as ChatCompletionCreateParamsNonStreaming
}

// ---------------------------------------------------------------- the gateway

const upstream = await startUpstream({ seed: 7 })
const gateway = await startGateway({
  env: providerEnv(upstream),
})
t.teardown(async () => {
  await gateway.stop()
  await upstream.close()
})
const client = gateway.client()

const metrics = () => scrapeMetrics(gateway.url)

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

/** Text and tool calls of an answer, to check that both modes replayed the same exchange. */
interface Answer {
  content: string
  tools: Array<{ name: string; input: unknown }>
}

function parsedInput(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text // custom tools take free text
  }
}

function answerOf(completion: ChatCompletion): Answer {
  const message = completion.choices[0]?.message
  return {
    content: message?.content ?? '',
    tools: (message?.tool_calls ?? []).map((call) =>
      call.type === 'function'
        ? { name: call.function.name, input: parsedInput(call.function.arguments) }
        : { name: call.custom.name, input: call.custom.input },
    ),
  }
}

function answerOfChunks(chunks: ChatCompletionChunk[]): Answer {
  let content = ''
  const tools: Array<{ name: string; text: string }> = []
  for (const chunk of chunks) {
    const delta = chunk.choices[0]?.delta
    if (!delta) continue
    content += delta.content ?? ''
    for (const call of delta.tool_calls ?? []) {
      const raw = call as typeof call & { custom?: { name?: string; input?: string } }
      const tool = (tools[call.index] ??= { name: '', text: '' })
      tool.name += call.function?.name ?? raw.custom?.name ?? ''
      tool.text += call.function?.arguments ?? raw.custom?.input ?? ''
    }
  }
  return { content, tools: tools.map((tool) => ({ name: tool.name, input: parsedInput(tool.text) })) }
}

// ---------------------------------------------------------------- tests

t.test('the expectations cover every recording and match it and the price book', async (t) => {
  for (const name of SKIPPED) {
    t.comment(`skipped ${name}: HTTP ${loadFixture(name).meta.http_status} error recording, no usage to meter (errors are tested elsewhere)`)
  }
  t.strictSame(Object.keys(EXPECTED).sort(), [...REPLAYED].sort(), 'one expectation per 200 recording, no more')
  for (const name of REPLAYED) {
    const expected = EXPECTED[name]
    const recorded = recordedNumbers(loadFixture(name))
    if (expected === undefined || expected === NO_USAGE) {
      t.equal(recorded, undefined, `${name}: the recording has no usage`)
      continue
    }
    const { costUsd, ...numbers } = expected
    t.strictSame(numbers, recorded, `${name}: expected numbers are the recorded ones (SPEC mapping)`)
    t.equal(costUsd, priceBookCost(name, expected), `${name}: expected cost is the price book's`)
  }
})

for (const name of REPLAYED) {
  const fixture = loadFixture(name)
  const expected = EXPECTED[name]
  const isOpenAI = fixture.meta.api === 'openai.chat.completions'
  const modes = recordedAsStream(name) ? 'recorded SSE, derived JSON' : 'recorded JSON, derived SSE'

  t.test(`${name} (${modes})`, async (t) => {
    upstream.reset()
    const request = callerRequest(name)
    const model = String(request.model)
    const labels = { llm_model: model, llm_provider: isOpenAI ? 'openai' : 'anthropic' }

    if (expected === undefined || expected === NO_USAGE) {
      // An OpenAI stream recorded without stream_options: the gateway asks for usage, the
      // recording has none, and the gateway must say nothing rather than invent numbers.
      t.throws(() => openaiSseToCompletion(fixture.response.body), /cannot be derived/)
      t.comment(`${name}: recorded without usage, so its non-streamed variant cannot be derived (a JSON completion always carries usage); streamed only`)

      upstream.enqueue(sseReply(name))
      const asked = await collect(await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }))
      t.ok(asked.length > 1, 'the stream was replayed')
      t.notOk(asked.some((c) => c.usage != null), 'no usage reported, none invented, even when asked')
      t.notOk(asked.some((c) => JSON.stringify(c).includes('cost_usd')), 'no cost anywhere')

      const before = await metrics()
      upstream.enqueue(sseReply(name))
      const plain = await collect(await client.chat.completions.create({ ...request, stream: true }))
      const after = await metrics()
      t.notOk(plain.some((c) => c.usage != null), 'no usage without include_usage either')
      for (const [i, sent] of upstream.requests.entries()) {
        const body = sent.body as Json
        t.equal(isObject(body.stream_options) && body.stream_options.include_usage, true, `upstream request #${i} asked for stream usage`)
      }
      t.equal(metricSum(after, 'llm_requests_total', labels) - metricSum(before, 'llm_requests_total', labels), 1, 'the call was counted')
      t.equal(metricSum(after, 'llm_tokens_input_total', labels) - metricSum(before, 'llm_tokens_input_total', labels), 0, 'and no tokens were made up')
      t.equal(metricSum(after, 'llm_requests_unmetered_total', labels) - metricSum(before, 'llm_requests_unmetered_total', labels), 1, 'but counted as unmetered')
      t.comment(`RESULT ${name}: no usage recorded → no usage, no cost_usd`)
      return
    }

    // 1. Non-streamed.
    upstream.enqueue(jsonReply(name))
    const completion = await client.chat.completions.create({ ...request, stream: false })
    const plainUsage = completion.usage as GatewayUsage | undefined
    t.ok(plainUsage, 'non-streamed usage')
    if (!plainUsage) return

    // 2. Streamed, asking for usage.
    upstream.enqueue(sseReply(name))
    const chunks = await collect(await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }))
    const usageChunks = chunks.filter((c) => c.usage != null)
    t.equal(usageChunks.length, 1, 'exactly one chunk carries usage')
    t.equal(usageChunks[0], chunks.at(-1), 'the last one')
    t.strictSame(usageChunks[0]?.choices, [], 'with choices: []')
    const streamedUsage = usageChunks[0]?.usage as GatewayUsage | undefined

    // (a) both equal the recorded numbers.
    for (const [mode, usage] of [['non-streamed', plainUsage], ['streamed', streamedUsage]] as const) {
      t.equal(usage?.prompt_tokens, expected.prompt, `${mode} prompt_tokens`)
      t.equal(usage?.completion_tokens, expected.completion, `${mode} completion_tokens`)
      t.equal(usage?.total_tokens, expected.prompt + expected.completion, `${mode} total_tokens`)
      t.equal(usage?.prompt_tokens_details?.cached_tokens, expected.cached, `${mode} cached_tokens`)
      if (!isOpenAI) {
        t.equal(usage?.cache_creation_input_tokens, expected.cacheWrite, `${mode} cache_creation_input_tokens`)
        t.equal(usage?.cache_read_input_tokens, expected.cached, `${mode} cache_read_input_tokens`)
      }
      // (c) cost.
      if (expected.costUsd === undefined) t.notOk(usage && 'cost_usd' in usage, `${mode}: no price, no cost_usd`)
      else t.equal(usage?.cost_usd, expected.costUsd, `${mode} cost_usd`)
    }
    // (b) streamed = non-streamed, cost included.
    t.strictSame(streamedUsage, plainUsage, 'streamed usage deep-equals non-streamed usage')
    t.strictSame(answerOfChunks(chunks), answerOf(completion), 'the same answer both ways')

    // 3. Streamed without include_usage: nothing shown, still metered.
    const before = await metrics()
    upstream.enqueue(sseReply(name))
    const plainChunks = await collect(await client.chat.completions.create({ ...request, stream: true }))
    const after = await metrics()
    t.notOk(plainChunks.some((c) => c.usage != null), 'no usage chunk for a caller that did not ask')
    t.notOk(plainChunks.some((c) => 'usage' in c), 'not even usage: null')
    t.strictSame(answerOfChunks(plainChunks), answerOf(completion), 'the same answer')
    t.equal(
      metricSum(after, 'llm_tokens_input_total', labels) - metricSum(before, 'llm_tokens_input_total', labels),
      expected.prompt,
      `llm_tokens_input_total{llm_model="${model}"} rose by the recorded prompt tokens`,
    )
    t.equal(
      metricSum(after, 'llm_tokens_output_total', labels) - metricSum(before, 'llm_tokens_output_total', labels),
      expected.completion,
      'and llm_tokens_output_total by the completion tokens',
    )

    // (d) what went upstream.
    t.equal(upstream.requests.length, 3, 'three upstream calls')
    const [first, asked, notAsked] = upstream.requests.map((r) => r.body as Json)
    t.equal(first?.model, model, 'the recorded model went upstream')
    t.notOk(first?.stream, 'non-streamed upstream call for the non-streamed request')
    if (isOpenAI) {
      for (const [which, body] of [['caller asked', asked], ['caller did not ask', notAsked]] as const) {
        t.equal(body?.stream, true, `${which}: upstream stream: true`)
        t.equal(isObject(body?.stream_options) && body.stream_options.include_usage, true, `${which}: upstream asked for usage`)
      }
    } else {
      t.equal(asked?.stream, true, 'upstream stream: true (Anthropic streams always carry usage)')
      t.equal(notAsked?.stream, true, 'upstream stream: true')
    }
    t.comment(
      `RESULT ${name}: prompt=${expected.prompt} completion=${expected.completion} cached=${expected.cached} ` +
        `cache_write=${expected.cacheWrite} cost_usd=${String(streamedUsage?.cost_usd)}`,
    )
  })
}

/**
 * A recorded reply answered by another model: the model a gateway prices when the one asked for
 * has no price of its own is the one the answer names, so an unpriced model must answer itself.
 */
function answeredBy(reply: { fixture: string } | { status: number; headers?: Record<string, string>; body?: string }, recorded: string, model: string) {
  if (!('fixture' in reply)) return { ...reply, body: reply.body?.replaceAll(recorded, model) }
  const stream = recordedAsStream(reply.fixture)
  const body = loadFixture(reply.fixture).response.body.replaceAll(recorded, model)
  return { status: 200, headers: { 'content-type': stream ? 'text/event-stream; charset=utf-8' : 'application/json' }, body }
}

t.test('a model with no price gets usage but no cost_usd, streamed and not', async (t) => {
  const cases = [
    { fixture: 'openai-chat-text-nonstream', recorded: 'gpt-3.5-turbo-0125', model: 'openai/gpt-unpriced-usage-test', prompt: 15 },
    { fixture: 'anthropic-messages-cache-write-stream', recorded: 'claude-3-5-sonnet-20240620', model: 'anthropic/claude-unpriced-usage-test', prompt: 4 + 1165 },
  ]
  for (const c of cases) {
    upstream.reset()
    const request = { ...callerRequest(c.fixture), model: c.model }
    const answering = c.model.slice(c.model.indexOf('/') + 1)
    upstream.enqueue(answeredBy(jsonReply(c.fixture), c.recorded, answering))
    const completion = await client.chat.completions.create({ ...request, stream: false })
    upstream.enqueue(answeredBy(sseReply(c.fixture), c.recorded, answering))
    const chunks = await collect(await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }))
    const plain = completion.usage as GatewayUsage | undefined
    const streamed = chunks.at(-1)?.usage as GatewayUsage | undefined
    t.equal(plain?.prompt_tokens, c.prompt, `${c.model}: non-streamed usage still reported`)
    t.equal(streamed?.prompt_tokens, c.prompt, `${c.model}: streamed usage still reported`)
    t.notOk(plain && 'cost_usd' in plain, `${c.model}: no cost_usd, non-streamed`)
    t.notOk(streamed && 'cost_usd' in streamed, `${c.model}: no cost_usd, streamed`)
    t.strictSame(streamed, plain, `${c.model}: streamed = non-streamed`)
  }
})

t.test('Anthropic streams whose message_delta repeats or nulls the input and cache counts meter the same usage', async (t) => {
  // The recordings' message_delta holds output_tokens only; newer API versions repeat the input
  // and cache counts there (cumulative, not increments), and some proxies send them as null.
  // Either way the usage is the recorded one: not added twice, not zeroed.
  for (const name of REPLAYED.filter((n) => loadFixture(n).meta.api === 'anthropic.messages')) {
    const expected = EXPECTED[name]
    if (expected === undefined || expected === NO_USAGE) continue
    const fixture = loadFixture(name)
    const message = recordedAsStream(name)
      ? anthropicSseToMessage(fixture.response.body)
      : (JSON.parse(fixture.response.body) as Json)
    for (const mode of ['cumulative', 'null-input'] as const) {
      upstream.reset()
      upstream.enqueue({
        status: 200,
        headers: { 'content-type': 'text/event-stream; charset=utf-8' },
        body: anthropicMessageToSse(message, { messageDeltaUsage: mode }),
      })
      const chunks = await collect(
        await client.chat.completions.create({ ...callerRequest(name), stream: true, stream_options: { include_usage: true } }),
      )
      const usage = chunks.at(-1)?.usage as GatewayUsage | undefined
      t.strictSame(
        usage && {
          prompt: usage.prompt_tokens,
          completion: usage.completion_tokens,
          cached: usage.prompt_tokens_details?.cached_tokens,
          cacheWrite: usage.cache_creation_input_tokens,
          costUsd: usage.cost_usd,
        },
        { prompt: expected.prompt, completion: expected.completion, cached: expected.cached, cacheWrite: expected.cacheWrite, costUsd: expected.costUsd },
        `${name}, message_delta usage ${mode}`,
      )
    }
  }
})
