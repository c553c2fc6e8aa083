// The shapes every part of the gateway shares: the caller's chat body, provider-neutral usage, and
// the provider adapter. Telemetry is recorded around adapters (src/core/dispatch.ts), never inside.
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
} from 'openai/resources/chat/completions'
import type { Api, StreamEvent } from './translator.ts'
import type { GatewayError } from '../errors.ts'
import type { CallParent } from '../telemetry/llm-call.ts'

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

/** What an exchange with an upstream carries besides its body. */
export interface SendOptions {
  /** The caller's headers of that API that pass on (only when the caller speaks it: anthropic-beta). */
  headers?: Record<string, string> | undefined
  /** The span the upstream request's span hangs below (an attempt's, or the request's); the active context otherwise. */
  parent?: CallParent | undefined
}

/** What an upstream answered: a JSON body, or the events of a stream. */
export type UpstreamReply = { json: Record<string, unknown> } | { events: AsyncIterable<StreamEvent> }

/** Where an adapter sends its requests; recorded as `server.address` / `server.port`. */
export interface UpstreamEndpoint {
  address: string
  port: number
}

/**
 * A provider adapter: it speaks one or more upstream APIs over the network, once per call (the
 * dispatch owns retries), and hands back what came as values; it never imports OpenTelemetry and
 * never translates (translators do, keyed by (ingress API, upstream API)). What it throws is a
 * `GatewayError` whose cause is the upstream's own error (status, headers) when there was one.
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
  /**
   * Whether `model` takes a reasoning setting (`reasoning_effort`, or thinking through a
   * translation); one that does not answers it with a 400. Set from the provider's registry
   * entry. Absent: no model does.
   */
  readonly reasoning?: (model: string) => boolean
  /** The most output tokens `model` may be asked for, when the provider says (from its entry). */
  readonly maxOutputTokens?: (model: string) => number | undefined
  readonly endpoint: UpstreamEndpoint | undefined
  /** The APIs its upstream speaks. An ingress API in this list is passed through. */
  readonly apis: readonly Api[]
  /** One exchange in `api`; `body.model` is already the upstream model id. */
  send(api: Api, body: Record<string, unknown>, stream: boolean, signal: AbortSignal, options?: SendOptions): Promise<UpstreamReply>
  /** Counts a request's input tokens with the provider's own endpoint, when it has one. */
  countTokens?(body: Record<string, unknown>, signal: AbortSignal, options?: SendOptions): Promise<Record<string, unknown>>
  /** The gateway's error for what its upstream exchange threw (an error event a translator met). */
  explain?(error: unknown): GatewayError
  /** GET / DELETE of a response stored upstream (`/responses/{id}`), answered as it came. */
  forward?(method: 'GET' | 'DELETE', path: string, signal: AbortSignal, options?: SendOptions): Promise<{ status: number; contentType: string; body: string }>
}

/** What a finished call used, as far as it got (a cancelled stream: what it used until then). */
export interface Spent {
  usage: Usage | undefined
  /** USD, when the model has a price; 0 for an answer from the response cache. */
  costUsd: number | undefined
  /** True when the upstream never said its usage (a stream cut before its last event): `usage` is estimated from the text. */
  estimated?: boolean | undefined
}

export function emptyUsage(): Usage {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, reasoning: 0 }
}
