// Shared by the /v1/messages tests: a raw POST (bytes, status and headers exactly as the gateway
// sent them), the events of an Anthropic stream, and the gateway key the tests use.
import { sseEvents } from '../support/sse.ts'

export type Json = Record<string, unknown>

/** A 1×1 PNG, base64: the image the tests send. */
export const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

/** The gateway key of the /v1/messages tests (sent as x-api-key, as Claude Code does). */
export const GATEWAY_KEY = 'gw-key-messages'

export interface MessagesAnswer {
  status: number
  headers: Headers
  /** The body as received. */
  text: string
  /** The JSON body (undefined for a stream). */
  json: Json | undefined
  /** A stream's events: the `event:` name and the `data:` text, in order. */
  events: { event: string | undefined; data: string }[]
}

/** POST `${baseUrl}${path}` with `body` as JSON and the gateway key in x-api-key (unless `headers` say otherwise). */
export async function postMessages(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
  path = '/v1/messages',
): Promise<MessagesAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    // The gateway key as x-api-key unless the caller sends its own credentials (a bearer token).
    headers: { 'content-type': 'application/json', ...('authorization' in headers ? {} : { 'x-api-key': GATEWAY_KEY }), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  const stream = (response.headers.get('content-type') ?? '').includes('text/event-stream')
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: stream ? undefined : (JSON.parse(text) as Json),
    events: stream ? sseEvents(text).map((e) => ({ event: e.event, data: e.data })) : [],
  }
}

/** The parsed data of the stream's events of one type. */
export function eventsOf(answer: MessagesAnswer, type: string): Json[] {
  return answer.events.filter((e) => e.event === type).map((e) => JSON.parse(e.data) as Json)
}

/** The trace ids the answer's headers name, as `trace_context` carries them. */
export function headerIds(answer: { headers: Headers }): { trace_id: string; span_id: string } {
  return { trace_id: answer.headers.get('x-trace-id') ?? '', span_id: answer.headers.get('x-span-id') ?? '' }
}
