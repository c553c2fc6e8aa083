// What the dispatch needs to know of the API a caller speaks: how to read the call's shape for
// telemetry, which stream events carry a token, and what the gateway adds to its answers. The
// SSE framing of each API is beside it (chat.ts, responses.ts).
import type { Cost } from '../../pricing/cost.ts'
import { traceContextBody, type TraceIds } from '../../telemetry/trace-context.ts'
import type { Api, StreamEvent } from '../translator.ts'

/** The request as the `llm.request` span records it. */
export interface CallShape {
  model: string
  stream: boolean
  messagesCount: number
  temperature?: number | null | undefined
  maxTokens?: number | null | undefined
  topP?: number | null | undefined
  /** Who the caller says the end user is (OpenAI `user`, Anthropic `metadata.user_id`). */
  userId?: string | undefined
}

export interface Ingress {
  readonly api: Api
  /** `gen_ai.operation.name` */
  readonly operation: 'chat' | 'embeddings'
  shape(body: Record<string, unknown>): CallShape
  /** JSON of the input, for content capture. */
  input(body: Record<string, unknown>): string
  /** JSON of the output of a JSON answer, for content capture. */
  output(answer: Record<string, unknown>): string
  /** Whether a stream event carries generated content (time to first token). */
  carriesToken(event: StreamEvent): boolean
  /** Appends the content a stream event carries, for content capture. */
  collect?(event: StreamEvent, output: string[]): void
  /** The JSON answer with the gateway's additions (cost in the usage, trace_context). */
  finish(answer: Record<string, unknown>, cost: Cost | undefined, ids: TraceIds | undefined): Record<string, unknown>
}

/** The longest end-user id recorded: it is the caller's string (Claude Code's is JSON). */
const MAX_USER_ID = 256

/** The end user a caller names (`user.id` on the span), when it names one. */
export function endUser(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, MAX_USER_ID) : undefined
}

/** The `usage` object with the call's cost added, as the caller sees it. */
export function withCostUsd(usage: unknown, cost: Cost | undefined): unknown {
  if (!cost || typeof usage !== 'object' || usage === null) return usage
  return { ...usage, cost_usd: cost.total }
}

/** The JSON answer of every API with the gateway's additions: the cost in its usage, trace_context. */
export function withAdditions(answer: Record<string, unknown>, cost: Cost | undefined, ids: TraceIds | undefined): Record<string, unknown> {
  return { ...answer, usage: withCostUsd(answer.usage, cost), trace_context: traceContextBody(ids) }
}
