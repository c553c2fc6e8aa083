// The shapes every part of the gateway shares. The wire format on both sides of the gateway is
// OpenAI Chat Completions: adapters translate to and from their provider and hand back plain
// values (usage, response model); telemetry is recorded around them, never inside them.
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
} from 'openai/resources/chat/completions'

export type { ChatCompletion, ChatCompletionChunk }

/** The body a caller posts to /v1/chat/completions, validated; unknown fields are kept. */
export type ChatRequest = ChatCompletionCreateParams & Record<string, unknown>

/**
 * Token counts of one exchange, provider-neutral.
 * `input` counts every prompt token, cached or not (OpenAI's `prompt_tokens`, and the OTel
 * GenAI convention for `gen_ai.usage.input_tokens`); `cacheRead` and `cacheWrite` are the parts
 * of it read from / written to the prompt cache. `cacheWrite1h` is the part of `cacheWrite`
 * written with Anthropic's 1-hour TTL (billed at a higher rate). `reasoning` is the part of
 * `output` spent on hidden reasoning.
 */
export interface Usage {
  input: number
  output: number
  cacheRead: number
  cacheWrite: number
  cacheWrite1h: number
  reasoning: number
}

/** Per-call options the core hands to an adapter. */
export interface CallOptions {
  /** Aborted when the caller disconnects or the total timeout fires. */
  signal: AbortSignal
}

/** A finished non-streaming exchange: the OpenAI-shaped body plus its usage as plain values. */
export interface Completion {
  body: ChatCompletion
  usage: Usage | undefined
}

/**
 * A streaming exchange. `chunks` yields OpenAI `chat.completion.chunk` objects; the usage chunk
 * (`choices: []`, `usage` set) is yielded like any other, and the core decides whether the
 * caller sees it. `usage()` is final once `chunks` is exhausted.
 */
export interface CompletionStream {
  chunks: AsyncIterable<ChatCompletionChunk>
  usage(): Usage | undefined
}

/** Where an adapter sends its requests; recorded as `server.address` / `server.port`. */
export interface UpstreamEndpoint {
  address: string
  port: number
}

/**
 * A provider adapter. It translates and calls its upstream; it returns usage and response
 * model as values; it never imports OpenTelemetry. Errors it throws are `UpstreamError`s
 * (src/errors.ts) or are mapped to them by the core.
 */
export interface ProviderAdapter {
  /** Provider name as it appears in spans and metrics (`llm.provider`): openai, anthropic, … */
  readonly name: string
  /** Whether this provider is the offline demo (labelled as such in responses and /v1/models). */
  readonly demo?: boolean
  /**
   * The only model ids this provider serves, when it has a fixed list (the demo). The router
   * refuses any other id with 404 `model_not_found` before the request is recorded under it, so
   * a caller cannot mint metric label values. Undefined: the upstream decides.
   */
  readonly models?: readonly string[]
  readonly endpoint: UpstreamEndpoint | undefined
  /** `model` is the upstream model id (the routing prefix already removed). */
  complete(request: ChatRequest, model: string, options: CallOptions): Promise<Completion>
  stream(request: ChatRequest, model: string, options: CallOptions): Promise<CompletionStream>
}

export function emptyUsage(): Usage {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, reasoning: 0 }
}
