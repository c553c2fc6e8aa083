// Every span name, attribute key and metric name the gateway emits, once.
//
// Two vocabularies side by side: the sik-llms names of the guide (`llm.*`, `reasoning.*`), which
// users' Jaeger searches, PromQL and alerts depend on, and the OpenTelemetry GenAI semantic
// conventions (`gen_ai.*`). The GenAI names are still "Development" status in semconv, so they
// live here as plain strings rather than imports from @opentelemetry/semantic-conventions'
// incubating entry point, whose exports may change in any release.

export const SPAN = {
  request: 'llm.request',
  providerCall: (provider: string, streaming: boolean, operation: 'chat' | 'embeddings' = 'chat') => {
    const kind = streaming ? 'stream' : operation
    return onceMade(provider, kind, () => `llm.${provider}.${kind}`)
  },
} as const

/**
 * Span names made from two parts (a provider and a kind of call, a method and a route), each made
 * once and then the same string: a name new to every request is hashed anew wherever it is a key
 * (the span hand-over's tables, span-records.ts). The parts are keys as they come, strings the
 * gateway holds (its config, its routes), whose hashes are kept.
 */
const madeNames = new Map<string, Map<string, string>>()
let madeCount = 0
/** Past this many (an operator's thousands of providers), names are made per span again. */
const MAX_MADE_NAMES = 1024

export function onceMade(first: string, second: string, make: () => string): string {
  let names = madeNames.get(first)
  const known = names?.get(second)
  if (known !== undefined) return known
  const name = make()
  if (madeCount < MAX_MADE_NAMES) {
    if (names === undefined) madeNames.set(first, (names = new Map()))
    names.set(second, name)
    madeCount++
  }
  return name
}

export const ATTR = {
  model: 'llm.model',
  provider: 'llm.provider',
  operation: 'llm.operation',
  messagesCount: 'llm.messages.count',
  streaming: 'llm.streaming',
  temperature: 'llm.request.temperature',
  maxTokens: 'llm.request.max_tokens',
  tokensInput: 'llm.tokens.input',
  tokensOutput: 'llm.tokens.output',
  tokensTotal: 'llm.tokens.total',
  tokensCacheRead: 'llm.tokens.cache_read',
  tokensCacheWrite: 'llm.tokens.cache_write',
  costTotal: 'llm.cost.total',
  costInput: 'llm.cost.input',
  costOutput: 'llm.cost.output',
  finishReason: 'llm.response.finish_reason',
  timeToFirstToken: 'llm.time_to_first_token',
  cancelled: 'llm.cancelled',
  demo: 'llm.demo',
  /** True when the upstream answered without usage: no tokens or cost were counted for the call. */
  usageMissing: 'llm.usage.missing',
  /** True when a stream ended before the upstream said its usage: what it was charged is estimated from the text. */
  usageEstimated: 'llm.usage.estimated',
  /** Which try of the call a provider span is (1, 2, …): a retry is a second provider span. */
  attempt: 'llm.attempt',
  /** The API the caller spoke (chat, responses, messages, embeddings). */
  api: 'llm.api',
  /** The end user the caller names (Anthropic `metadata.user_id`, as Claude Code sends it). */
  userId: 'user.id',
  /** Parts of the caller's request the upstream could not take and that were left out. */
  omitted: 'llm.request.omitted',
  /** The route group the caller named (GATEWAY_CONFIG `routes`), when it was one. */
  route: 'llm.route',
  /** On a failed attempt another followed: why the call moved on (rate_limited, context_length, …). */
  fallbackReason: 'llm.fallback.reason',
  /** Whether the answer came from the response cache (set when the cache applies to the call). */
  cacheHit: 'llm.cache.hit',
  /** What the call did with the response cache: hit, miss, or bypass (`cache-control: no-store` / `no-cache`). */
  cacheStatus: 'llm.cache.status',
  /** On a hit: what the answer cost when it was made, saved now (USD). */
  cacheSavedUsd: 'llm.cache.saved_usd',
  /** On a hit: the tokens the cached answer used, not spent again. */
  cacheSavedInputTokens: 'llm.cache.saved_tokens.input',
  cacheSavedOutputTokens: 'llm.cache.saved_tokens.output',
  /**
   * Who called, on every span of a call (server, llm.request, provider, agent run, iteration,
   * tool): the kind of key (`named`, `unnamed`, `master`; absent when no key is configured) and,
   * for a named key, its id, name and team. Never the secret nor its hash.
   */
  keyKind: 'gateway.key.kind',
  keyId: 'gateway.key.id',
  keyName: 'gateway.key.name',
  keyTeam: 'gateway.key.team',

  genAiOperation: 'gen_ai.operation.name',
  genAiProvider: 'gen_ai.provider.name',
  genAiRequestModel: 'gen_ai.request.model',
  genAiResponseModel: 'gen_ai.response.model',
  genAiResponseId: 'gen_ai.response.id',
  genAiFinishReasons: 'gen_ai.response.finish_reasons',
  genAiTemperature: 'gen_ai.request.temperature',
  genAiMaxTokens: 'gen_ai.request.max_tokens',
  genAiTopP: 'gen_ai.request.top_p',
  genAiStream: 'gen_ai.request.stream',
  genAiInputTokens: 'gen_ai.usage.input_tokens',
  genAiOutputTokens: 'gen_ai.usage.output_tokens',
  genAiCacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  genAiCacheCreationTokens: 'gen_ai.usage.cache_creation.input_tokens',
  genAiTokenType: 'gen_ai.token.type',
  genAiInputMessages: 'gen_ai.input.messages',
  genAiOutputMessages: 'gen_ai.output.messages',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  /** Semconv's (Development) human-readable detail of `error.type`: why a request was refused. */
  errorMessage: 'error.message',
  urlQuery: 'url.query',
} as const

/**
 * Metric names chosen so that both export paths yield the guide's Prometheus names: the JS
 * Prometheus exporter (adds `_total` to monotonic sums, maps `.` to `_`, adds no unit) and the
 * Collector's `prometheus` exporter (strips `total` tokens and re-adds `_total` to monotonic sums,
 * appends the unit unless already a name token, ignores `{…}` units).
 */
export const METRIC = {
  requests: 'llm.requests',
  requestsFailed: 'llm.requests.failed',
  // Successful calls whose upstream sent no usage (an OpenAI-compatible server that ignores
  // stream_options.include_usage): their tokens and cost are missing from the sums above.
  requestsUnmetered: 'llm.requests.unmetered',
  tokensInput: 'llm.tokens.input',
  tokensOutput: 'llm.tokens.output',
  cacheReadTokens: 'llm.cache.read.tokens',
  cacheWriteTokens: 'llm.cache.write.tokens',
  // `llm_cost_total_usd` cannot come from a monotonic counter on either path (see README,
  // "Why llm_cost_total_usd is an UpDownCounter"): a non-monotonic sum that only ever rises keeps
  // the exact name on both paths and stays rate()-able.
  costTotalUsd: 'llm.cost.total_usd',
  requestDuration: 'llm.request.duration.seconds',
  timeToFirstToken: 'llm.time_to_first_token.seconds',
  genAiTokenUsage: 'gen_ai.client.token.usage',
  genAiOperationDuration: 'gen_ai.client.operation.duration',
  // A call moving from one target of a route group to the next, by group, from-target and reason.
  fallbacks: 'llm.fallbacks',
  // Calls the response cache answered, or looked up and missed, by the target that served.
  responseCacheHits: 'llm.response_cache.hits',
  responseCacheMisses: 'llm.response_cache.misses',
  // What the hits saved: what their answers cost when they were made (an UpDownCounter, as cost).
  responseCacheSavedUsd: 'llm.response_cache.saved_usd',
  // Callers refused for want of a valid gateway key: counted, never traced (see src/auth.ts).
  unauthenticated: 'gateway.requests.unauthenticated',
  // Rate limits and budgets not checked or not counted because their store (Redis) failed, by
  // operation (`admit`, `settle`) and outcome (`served` unchecked, `refused` with a 503).
  limitsStoreLapses: 'gateway.limits.store_lapses',
  // Per named key (labels key_name, key_team): model calls, tokens by type, and spend, counted as
  // budgets count them (a cancelled stream: what it used; a cache hit: a request at $0). A team's
  // figures are the sum over its keys. New families: the llm_* ones keep their labels.
  keyRequests: 'gateway.key.requests',
  keyTokens: 'gateway.key.tokens',
  // An UpDownCounter that only rises, for the reason llm.cost.total_usd is one: the exact name
  // `gateway_key_spend_usd` on both export paths.
  keySpendUsd: 'gateway.key.spend_usd',
} as const

/** Metric attribute keys (Prometheus labels after `.` → `_`). */
export const LABEL = {
  model: 'llm.model',
  provider: 'llm.provider',
  errorType: 'error.type',
  /** Of gateway_requests_unauthenticated_total: `missing` or `invalid` key. */
  authFailure: 'reason',
  /** Of gateway_limits_store_lapses_total: `admit` or `settle`, and `served` or `refused`. */
  limitsOperation: 'operation',
  limitsOutcome: 'outcome',
  /** Of llm_fallbacks_total: the route group. */
  route: 'llm.route',
  /** Of llm_fallbacks_total: why the call moved on (an error.type, or context_length). */
  fallbackReason: 'reason',
  /** Of the gateway_key_* metrics: the named key, and its team (absent when it has none). */
  keyName: 'key_name',
  keyTeam: 'key_team',
  /** Of gateway_key_tokens_total: `input` or `output`. */
  tokenType: 'type',
} as const

/**
 * How many label sets each family of the gateway's metrics may hold for the life of the process
 * (series-budget.ts); label sets beyond it are recorded under the single overflow series
 * `{otel_metric_overflow="true"}`. Model names come from callers and upstreams, evaluation names
 * and criteria from callers: without a bound, /metrics grows with every name invented.
 */
export const SERIES_LIMIT = {
  /** (llm_model, llm_provider) pairs, shared by every llm_* and llm_reasoning_* metric. */
  models: 50,
  /** gen_ai.client.* label sets (provider, request and response model, error.type). */
  genAi: 50,
  /** evaluation_name values of llm_evaluations_total. */
  evaluationNames: 50,
  /** (evaluation_name, criterion) pairs of llm_evaluation_score. */
  evaluationCriteria: 50,
  /**
   * (key_name, key_team) pairs of the gateway_key_* metrics. Keys are the operator's (the keys
   * file, the admin API), not callers' inventions: generous, a guard against a runaway script.
   */
  keys: 1000,
} as const

/** The attribute the OpenTelemetry SDK puts on its overflow point; ours use the same. */
export const OVERFLOW_ATTR = 'otel.metric.overflow'

/** Seconds buckets for LLM calls: 50 ms … 2 min (the SDK default is milliseconds, 0…10000). */
export const DURATION_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120]
export const TTFT_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30]
/** Bucket boundaries given by the GenAI semantic conventions for these two histograms. */
export const GENAI_DURATION_BUCKETS_S = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
]
export const GENAI_TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
]

/** The reasoning agent's spans (the guide's ReasoningAgent tree). */
export const AGENT_SPAN = {
  run: 'llm.reasoning_agent.stream',
  iteration: (index: number) => `reasoning.thinking.iteration_${index}`,
  tool: (name: string) => `reasoning.tool.${name}`,
} as const

export const AGENT_ATTR = {
  effort: 'llm.reasoning.effort',
  iterationsTotal: 'llm.reasoning.iterations.total',
  toolCallsTotal: 'llm.reasoning.tool_calls.total',
  thinkingContentLength: 'reasoning.thinking.content_length',
  iterationIndex: 'reasoning.iteration',
  toolName: 'tool.name',
  toolArgumentsCount: 'tool.arguments_count',
  genAiToolName: 'gen_ai.tool.name',
  genAiToolCallId: 'gen_ai.tool.call.id',
  genAiToolType: 'gen_ai.tool.type',
  genAiAgentName: 'gen_ai.agent.name',
} as const

export const AGENT_METRIC = {
  requests: 'llm.reasoning.requests',
  success: 'llm.reasoning.success',
  iterations: 'llm.reasoning.iterations',
  toolCalls: 'llm.reasoning.tool_calls',
} as const

/** Label of the reasoning metrics besides llm_model and llm_provider. */
export const AGENT_LABEL = { effort: 'reasoning_effort' } as const

/**
 * Evaluations posted to POST /v1/evaluations (the guide's "time-separated evaluation"): one
 * `evaluation <name>` span linked to the evaluated generation. The `evaluation.*` names follow the
 * guide; the `gen_ai.evaluation.*` ones are the GenAI conventions' (Development status, written
 * for the `gen_ai.evaluation.result` event; here on the span, since the gateway emits no events).
 */
export const EVAL_SPAN = {
  evaluation: (name: string) => `evaluation ${name}`,
} as const

export const EVAL_ATTR = {
  id: 'evaluation.id',
  name: 'evaluation.name',
  score: (criterion: string) => `evaluation.${criterion}.score`,
  label: 'evaluation.label',
  comment: 'evaluation.comment',
  targetTraceId: 'evaluation.target.trace_id',
  targetSpanId: 'evaluation.target.span_id',
  genAiName: 'gen_ai.evaluation.name',
  genAiScoreValue: 'gen_ai.evaluation.score.value',
  genAiScoreLabel: 'gen_ai.evaluation.score.label',
  genAiExplanation: 'gen_ai.evaluation.explanation',
} as const

/** The attribute on the span link that says what the link means, and its value for evaluations. */
export const LINK_ATTR = { type: 'link.type' } as const
export const LINK_TYPE_EVALUATION = 'evaluation'

/**
 * `llm.evaluations` (unit `{evaluation}`) is `llm_evaluations_total` through the JS exporter and
 * the Collector alike; `llm.evaluation.score` has no unit, so both give `llm_evaluation_score`
 * (`_bucket`, `_sum`, `_count`).
 */
export const EVAL_METRIC = {
  evaluations: 'llm.evaluations',
  score: 'llm.evaluation.score',
} as const

/** Labels written as Prometheus wants them, like `reasoning_effort`. */
export const EVAL_LABEL = { name: 'evaluation_name', criterion: 'criterion' } as const

/** Scores come on many scales (0–1, 1–5, 0–10, 0–100): boundaries fine enough for each. */
export const EVAL_SCORE_BUCKETS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 25, 50, 75, 100]

/** HTTP attributes the trace store reads to describe a trace (set on the SERVER span, server-span.ts). */
export const HTTP_ATTR = {
  route: 'http.route',
  method: 'http.request.method',
  statusCode: 'http.response.status_code',
} as const
