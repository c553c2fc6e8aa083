// Shared by the fallback tests (test/routing/fallback-*.test.ts): a gateway whose route groups
// cross providers, with two upstream emulators so each test can tell which target got what.
// `first` answers the built-in `openai` and `anthropic` providers; `second` answers `openai2` and
// `anthropic2`, other accounts of the same built-ins (GATEWAY_CONFIG providers of `type` openai /
// anthropic). A group's first target is on `first` and its fallback on `second`, on the other
// provider, so every fallback also changes the API the dispatch translates to.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { jsonReply, sseReply } from '../support/fixture-variants.ts'
import { loadFixture } from '../support/fixtures.ts'
import { startGateway, type GatewayProcess } from '../support/gateway.ts'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { providerEnv, startUpstream, type CustomReply, type Reply, type Upstream } from '../support/upstream.ts'
import { STARTUP_MS, WAIT_MS } from '../telemetry/helpers.ts'

export type Json = Record<string, unknown>

/** A hung first target is given up on after this long (the groups' `firstByteTimeoutMs`). */
export const FIRST_BYTE_MS = 1000

/** Models of the targets: priced built-in ones, so every metric series exists at once. */
export const OPENAI_MODEL = 'gpt-4o-mini'
export const ANTHROPIC_MODEL = 'claude-3-5-sonnet-20240620'

/** Failing targets are never cooled down here: every test sees its first target tried. */
const NO_COOLDOWN = { failures: 1000, windowMs: 60_000, cooldownMs: 1000 }

/** A route group of GATEWAY_CONFIG, as written in the file. */
export interface GroupConfig {
  strategy?: 'fallback' | 'loadbalance'
  targets: Array<{ provider: string; model: string; weight?: number; contextFallback?: boolean }>
  maxAttempts?: number
  timeoutMs?: number
  firstByteTimeoutMs?: number
  retries?: number
}

/** OpenAI on `first` falling back to Anthropic on `second` (chat, responses, the agent). */
export const TO_ANTHROPIC: GroupConfig = {
  targets: [
    { provider: 'openai', model: OPENAI_MODEL },
    { provider: 'anthropic2', model: ANTHROPIC_MODEL },
  ],
  firstByteTimeoutMs: FIRST_BYTE_MS,
}

/** Anthropic on `first` falling back to OpenAI on `second` (messages). */
export const TO_OPENAI: GroupConfig = {
  targets: [
    { provider: 'anthropic', model: ANTHROPIC_MODEL },
    { provider: 'openai2', model: OPENAI_MODEL },
  ],
  firstByteTimeoutMs: FIRST_BYTE_MS,
}

export interface FallbackStack {
  gateway: GatewayProcess
  receiver: OtlpReceiver
  /** The built-in `openai` and `anthropic` providers' upstream. */
  first: Upstream
  /** `openai2` and `anthropic2`: the second accounts' upstream. */
  second: Upstream
}

/** A gateway with `routes` (cooldowns off unless a group says otherwise), its OTLP receiver and both upstreams; all stopped at `t`'s teardown. */
export async function startFallbackStack(t: Test, routes: Record<string, GroupConfig>, env: Record<string, string> = {}): Promise<FallbackStack> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-fallback-'))
  const [receiver, first, second] = await Promise.all([startOtlpReceiver(), startUpstream(), startUpstream()])
  const configPath = join(dir, 'gateway.json')
  writeFileSync(
    configPath,
    JSON.stringify({
      providers: {
        openai2: { type: 'openai', baseURL: second.openaiBaseURL, apiKeyEnv: 'OPENAI2_API_KEY' },
        anthropic2: { type: 'anthropic', baseURL: second.anthropicBaseURL, apiKeyEnv: 'ANTHROPIC2_API_KEY' },
      },
      routes: Object.fromEntries(Object.entries(routes).map(([name, group]) => [name, { cooldown: NO_COOLDOWN, ...group }])),
    }),
  )
  const gateway = await startGateway({
    timeoutMs: STARTUP_MS,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      ...providerEnv(first),
      OPENAI2_API_KEY: 'sk-test-openai-second',
      ANTHROPIC2_API_KEY: 'sk-ant-test-second',
      GATEWAY_CONFIG: configPath,
      ...env,
    },
  })
  t.teardown(async () => {
    await gateway.stop()
    await Promise.all([receiver.close(), first.close(), second.close()])
    rmSync(dir, { recursive: true, force: true })
  })
  t.beforeEach(() => {
    first.reset()
    second.reset()
  })
  return { gateway, receiver, first, second }
}

/** The API a target speaks upstream: its errors are shaped as that API shapes them. */
export type UpstreamApi = 'openai' | 'anthropic'

function errorBody(api: UpstreamApi, type: string, message: string, code: string | null = null): Json {
  return api === 'openai'
    ? { error: { message, type, param: null, code } }
    : { type: 'error', error: { type, message } }
}

/** A way for a first target to fail before the first byte, and the reason the fallback is recorded for. */
export interface Failure {
  name: string
  /** `llm.fallback.reason` and the counter's `reason`. */
  reason: string
  reply(api: UpstreamApi): Reply
}

export const FAILURES: readonly Failure[] = [
  {
    name: '429 with retry-after',
    reason: 'rate_limited',
    reply: (api) => ({
      status: 429,
      headers: { 'retry-after': '20' },
      json: errorBody(api, api === 'openai' ? 'requests' : 'rate_limit_error', 'Rate limit reached for requests', api === 'openai' ? 'rate_limit_exceeded' : null),
    }),
  },
  {
    name: '500',
    reason: 'upstream_error',
    reply: (api) => ({ status: 500, json: errorBody(api, api === 'openai' ? 'server_error' : 'api_error', 'The server had an error while processing your request.') }),
  },
  { name: 'a hang before the first byte', reason: 'timeout', reply: () => ({ hang: true }) },
]

const SSE = { 'content-type': 'text/event-stream; charset=utf-8' }

/**
 * Ways a streamed answer fails after its status and headers but before its first event: nothing
 * has reached the caller yet, so the group moves on as for a 5xx. `answer` is target 1's stream.
 */
export const STREAM_START_FAILURES: readonly Failure[] = [
  {
    name: 'a stream cut before its first event',
    reason: 'connection_error',
    reply: () => ({ status: 200, headers: SSE, body: 'data: {"id":"x"', resetAfterBytes: 0 }),
  },
  {
    name: 'a stream that stalls before its first event',
    reason: 'timeout',
    reply: () => ({ status: 200, headers: SSE, body: 'data: {"id":"x"}\n\n', stallAfterBytes: 0 }),
  },
  {
    name: 'an overloaded error as the first event',
    reason: 'upstream_overloaded',
    reply: (api) => ({
      status: 200,
      headers: SSE,
      body:
        api === 'openai'
          ? `data: ${JSON.stringify({ error: { message: 'The server is overloaded', type: 'server_is_overloaded', param: null, code: null } })}\n\n`
          : `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`,
    }),
  },
]

/** Declares a JSON and a streamed test for each failure, and a streamed one for each way a stream fails before its first event. */
export function eachFailure(jsonCase: (failure: Failure) => void, streamCase: (failure: Failure) => void): void {
  for (const failure of FAILURES) {
    jsonCase(failure)
    streamCase(failure)
  }
  for (const failure of STREAM_START_FAILURES) streamCase(failure)
}

/** A client error: the caller's request is wrong, on every target. */
export function invalidRequest(api: UpstreamApi): CustomReply {
  return { status: 400, json: errorBody(api, 'invalid_request_error', "Invalid value for 'temperature': must be at most 2.") }
}

/** The upstream's refusal of a prompt longer than the model's context window, as each API words it. */
export function contextTooLong(api: UpstreamApi): CustomReply {
  return api === 'openai'
    ? {
        status: 400,
        json: errorBody(
          'openai',
          'invalid_request_error',
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 210345 tokens. Please reduce the length of the messages.",
          'context_length_exceeded',
        ),
      }
    : { status: 400, json: errorBody('anthropic', 'invalid_request_error', 'prompt is too long: 210345 tokens > 200000 maximum') }
}

/** Where a call was served from, as the trace and metrics must name it. */
export interface Hop {
  group: string
  from: { provider: string; model: string }
  to: { provider: string; model: string }
  reason: string
}

/** The spans of one trace once its `llm.request` and `providerSpans` provider spans arrived. */
export async function callSpans(receiver: OtlpReceiver, traceId: string, providerSpans: number): Promise<{ requests: ReceivedSpan[]; providers: ReceivedSpan[] }> {
  const pick = () => {
    const spans = receiver.spans.filter((s) => s.traceId === traceId)
    return {
      requests: spans.filter((s) => s.name === 'llm.request'),
      providers: spans.filter((s) => s.kind === 'CLIENT' && /^llm\.[^.]+\.(chat|stream)$/.test(s.name)).sort((a, b) => Number(a.attributes['llm.attempt']) - Number(b.attributes['llm.attempt'])),
    }
  }
  await receiver.waitFor(() => {
    const { requests, providers } = pick()
    return requests.length >= 1 && providers.length >= providerSpans
  }, WAIT_MS)
  // A moment more, so that a span too many (a third attempt, a second llm.request) shows.
  await new Promise((resolve) => setTimeout(resolve, 300))
  return pick()
}

/**
 * The trace of a call that fell back once: one `llm.request` naming the group and the target that
 * served, two provider spans (`llm.attempt` 1 and 2) under it, each its target's, the first
 * failed with `llm.fallback.reason`.
 */
export async function checkFallbackTrace(t: Test, receiver: OtlpReceiver, traceId: string, hop: Hop): Promise<void> {
  const { requests, providers } = await callSpans(receiver, traceId, 2)
  t.equal(requests.length, 1, 'one llm.request for the call')
  const request = requests[0]!
  t.equal(providers.length, 2, 'two provider spans: one per attempt')
  t.match(request.attributes, { 'llm.route': hop.group, 'llm.provider': hop.to.provider, 'llm.model': hop.to.model }, 'llm.request: the group, and the target that served')
  t.equal(request.status.code, 'UNSET', 'llm.request succeeded')
  const [failed, served] = providers
  t.match(failed?.attributes, { 'llm.attempt': 1, 'gen_ai.provider.name': hop.from.provider, 'gen_ai.request.model': hop.from.model, 'llm.fallback.reason': hop.reason }, 'attempt 1: the first target, why the call moved on')
  t.equal(failed?.status.code, 'ERROR', 'attempt 1 failed')
  t.match(served?.attributes, { 'llm.attempt': 2, 'gen_ai.provider.name': hop.to.provider, 'gen_ai.request.model': hop.to.model }, 'attempt 2: the second target')
  t.notOk(served && 'llm.fallback.reason' in served.attributes, 'the attempt that served has no fallback reason')
  t.equal(served?.status.code, 'UNSET', 'attempt 2 succeeded')
  t.match(failed?.name, new RegExp(`^llm\\.${hop.from.provider}\\.`), "attempt 1's span is named after its provider")
  t.match(served?.name, new RegExp(`^llm\\.${hop.to.provider}\\.`), "attempt 2's span is named after its provider")
  for (const span of providers) t.equal(span.parentSpanId, request.spanId, `${span.name} under llm.request`)
}

/** The metric series the fallback tests read, before and after a call. */
export interface Counts {
  served: number
  from: number
  fallbacks: number
}

export async function counts(gateway: GatewayProcess, hop: Hop): Promise<Counts> {
  const text = await scrapeMetrics(gateway.url)
  return {
    served: metricSum(text, 'llm_requests_total', { llm_provider: hop.to.provider, llm_model: hop.to.model }),
    from: metricSum(text, 'llm_requests_total', { llm_provider: hop.from.provider, llm_model: hop.from.model }),
    fallbacks: metricSum(text, 'llm_fallbacks_total', { llm_route: hop.group, llm_provider: hop.from.provider, llm_model: hop.from.model, reason: hop.reason }),
  }
}

/** The call is counted under the target that served, not the one that failed; the fallback once. */
export async function checkFallbackMetrics(t: Test, gateway: GatewayProcess, hop: Hop, before: Counts): Promise<void> {
  const after = await counts(gateway, hop)
  t.equal(after.served - before.served, 1, 'llm_requests_total counts the call under the target that served')
  t.equal(after.from - before.from, 0, 'and not under the target that failed')
  t.equal(after.fallbacks - before.fallbacks, 1, `llm_fallbacks_total{llm_route, from-target, reason="${hop.reason}"} counts the fallback`)
}

/** What one fallback test checks once the caller has its answer. */
export interface Served {
  hop: Hop
  /** The path each upstream was asked on: the first target's API, then the second's. */
  paths: { first: string; second: string }
  traceId: string
  before: Counts
}

/**
 * The call went to each target once, the first in its API and the second in its own (with its
 * own model), a hung first attempt was given up on, and the trace and metrics say so.
 */
export async function checkServedBySecond(t: Test, stack: FallbackStack, served: Served): Promise<void> {
  const { hop, paths } = served
  t.strictSame(stack.first.requests.map((r) => r.path), [paths.first], `target 1 got one request (${paths.first})`)
  t.strictSame(stack.second.requests.map((r) => r.path), [paths.second], `target 2 got one request, in its own API (${paths.second})`)
  t.equal((stack.second.requests[0]?.body as { model?: string } | undefined)?.model, hop.to.model, 'target 2 was sent its own model')
  if (hop.reason === 'timeout') t.ok((await stack.first.waitForAbort(0)).aborted, 'the hung attempt was given up on')
  await checkFallbackTrace(t, stack.receiver, served.traceId, hop)
  await checkFallbackMetrics(t, stack.gateway, hop, served.before)
}

/** The fallbacks of `group` counted so far. */
export async function fallbacksOf(stack: FallbackStack, group: string): Promise<number> {
  return metricSum(await scrapeMetrics(stack.gateway.url), 'llm_fallbacks_total', { llm_route: group })
}

/**
 * A failure after the first byte reached the caller: the first target was asked once, the second
 * never; one failed attempt in the trace, no fallback reason, no fallback counted.
 */
export async function checkNotMovedOn(t: Test, stack: FallbackStack, traceId: string, group: string, fallbacksBefore: number): Promise<void> {
  t.equal(stack.second.requests.length, 0, 'target 2 got no request')
  t.equal(stack.first.requests.length, 1, 'target 1 was not tried again')
  const { requests, providers } = await callSpans(stack.receiver, traceId, 1)
  t.equal(requests.length, 1, 'one llm.request')
  t.equal(providers.length, 1, 'one attempt')
  t.equal(requests[0]?.status.code, 'ERROR', 'llm.request failed')
  t.notOk('llm.fallback.reason' in (providers[0]?.attributes ?? {}), 'no fallback reason: nothing followed')
  t.equal(await fallbacksOf(stack, group), fallbacksBefore, 'no fallback counted')
}

/** Target 1's answer as a stream that is cut halfway (past its first words, before its end). */
export function cutStream(reply: Reply): CustomReply {
  const { body } = reply as CustomReply & { body: string }
  return { status: 200, headers: { 'content-type': 'text/event-stream' }, body, resetAfterBytes: Math.floor(body.length / 2) }
}

/** The answers the second target gives: recorded text answers, streamed or not as the call asks. */
const ANTHROPIC_FIXTURE = 'anthropic-messages-text-nonstream'
const OPENAI_FIXTURE = 'openai-chat-text-nonstream'

function recordedText(name: string): string {
  const body = JSON.parse(loadFixture(name).response.body) as { content?: Array<{ text?: string }>; choices?: Array<{ message: { content: string } }> }
  return body.content?.[0]?.text ?? body.choices?.[0]?.message.content ?? ''
}

/** Anthropic's recorded answer (a joke about OpenTelemetry), and its text. */
export const ANTHROPIC_TEXT = recordedText(ANTHROPIC_FIXTURE)
export const anthropicAnswer = (stream: boolean): Reply => (stream ? sseReply(ANTHROPIC_FIXTURE) : jsonReply(ANTHROPIC_FIXTURE))

/** OpenAI's recorded answer, and its text. */
export const OPENAI_TEXT = recordedText(OPENAI_FIXTURE)
export const openaiAnswer = (stream: boolean): Reply => (stream ? sseReply(OPENAI_FIXTURE) : jsonReply(OPENAI_FIXTURE))
