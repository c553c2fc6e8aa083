// What a translator is: the pure code between one ingress API (what the caller speaks) and one
// upstream API (what the provider speaks). The dispatch (dispatch.ts) picks one per call by the
// pair (ingress, upstream), asks it for the upstream body, and hands it the upstream's answer or
// stream events; the translator returns the caller's answer and the usage as plain values. It
// never records telemetry, prices, retries or touches the network: that is the dispatch's work.
import type { Usage } from './types.ts'

/** The HTTP APIs the gateway speaks, on either side. */
export type Api = 'chat' | 'responses' | 'messages' | 'embeddings'

/**
 * One server-sent event. `data` is the parsed JSON payload; `raw` its JSON text as it came, when
 * the upstream sent it on one line, so an event the gateway does not change can be written on
 * without serialising it again.
 */
export interface StreamEvent {
  /** The SSE `event:` field (Responses and Anthropic streams name their events; chat does not). */
  event?: string | undefined
  data: Record<string, unknown>
  raw?: string | undefined
}

/** What the upstream is sent. */
export interface UpstreamRequest {
  body: Record<string, unknown>
  /**
   * Parts of the caller's request the upstream cannot take and that were left out rather than
   * refused (a hosted tool a chat-only server cannot run): recorded on the span and in a header.
   */
  omitted?: string[] | undefined
}

/** What a finished exchange tells the dispatch, beside the caller's answer. */
export interface AnswerFacts {
  usage: Usage | undefined
  /** The upstream's name for the model that answered. */
  model?: string | undefined
  id?: string | undefined
  finishReasons: string[]
}

/** A JSON answer, translated. */
export interface TranslatedAnswer extends AnswerFacts {
  body: Record<string, unknown>
}

/** The stream state of one call: upstream events in, the caller's events out. */
export interface StreamTranslator {
  /** Appends to `out` the caller's events for one upstream event (none, one or several). */
  push(event: StreamEvent, out: StreamEvent[]): void
  /** After the upstream's last event: appends what the caller still needs (closing events). */
  end(out: StreamEvent[]): void
  /** Final once `end` ran. */
  facts(): AnswerFacts
}

/** What the translator may need to know of the upstream model. */
export interface ModelTraits {
  /** The model takes a reasoning setting (OpenAI `reasoning_effort`, Claude thinking). */
  reasoning: boolean
  /** The most output tokens it may be asked for, when known. */
  maxOutputTokens?: number | undefined
}

export interface Translator {
  readonly ingress: Api
  readonly upstream: Api
  /** The upstream body for the caller's body; `model` is the upstream model id. */
  request(body: Record<string, unknown>, model: string, stream: boolean, traits?: ModelTraits): UpstreamRequest
  /** The caller's answer for the upstream's JSON answer. */
  response(upstream: Record<string, unknown>, request: Record<string, unknown>): TranslatedAnswer
  /** A fresh stream translator for one call. */
  stream(request: Record<string, unknown>): StreamTranslator
}
