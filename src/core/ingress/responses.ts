// The OpenAI Responses API as an ingress: the span's view of a Responses body, and the SSE
// framing of its typed events. Events go out as they came from the translator (or the upstream),
// their JSON text reused when unchanged; the final `response.completed` (or `.incomplete`) gets
// the cost in its usage and `trace_context` beside `response`.
import type { Response, ResponseCreateParams } from 'openai/resources/responses/responses'
import type { CallStream } from '../dispatch.ts'
import type { StreamEvent } from '../translator.ts'
import { traceContextBody } from '../../telemetry/trace-context.ts'
import { endUser, withAdditions, withCostUsd, type Ingress } from './ingress.ts'

type ResponsesBody = ResponseCreateParams & Record<string, unknown>

/** Events whose delta is generated content: the first one is the call's first token. */
const TOKEN_EVENTS = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
])

/** The events that carry the finished response and its usage. */
/**
 * Marks a Responses body whose `previous_response_id` the gateway resolved from its own store into
 * `input`: a target speaking the Responses API (in a route group with others) must not send the
 * id upstream, where it names nothing. A symbol: never serialised, never part of a cache key.
 */
export const HISTORY_RESOLVED: unique symbol = Symbol('previous_response_id resolved by the gateway')

export const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete'])

export const responsesIngress: Ingress = {
  api: 'responses',
  operation: 'chat',

  shape(body) {
    const request = body as ResponsesBody
    return {
      model: request.model as string,
      stream: request.stream === true,
      messagesCount: typeof request.input === 'string' ? 1 : Array.isArray(request.input) ? request.input.length : 0,
      temperature: request.temperature,
      maxTokens: request.max_output_tokens,
      topP: request.top_p,
      // OpenAI's `user`, or its successor `safety_identifier`.
      userId: endUser(request.user ?? request.safety_identifier),
    }
  },

  input: (body) => JSON.stringify({ instructions: (body as ResponsesBody).instructions, input: (body as ResponsesBody).input }),
  output: (answer) => JSON.stringify((answer as unknown as Response).output),

  carriesToken: (event) => TOKEN_EVENTS.has(event.data.type as string),

  collect(event, output) {
    if (event.data.type === 'response.output_text.delta' && typeof event.data.delta === 'string') output.push(event.data.delta)
  },

  finish: withAdditions,
}

function named(type: string, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`
}

/** `onCompleted` is given the finished Response as the caller gets it (the route may store it). */
export async function* responsesFrames(stream: CallStream, onCompleted?: (response: Record<string, unknown>) => void): AsyncGenerator<string> {
  let sequence = -1
  try {
    for await (const event of stream.events) {
      const data = event.data
      const type = String(data.type ?? event.event ?? 'message')
      if (typeof data.sequence_number === 'number') sequence = data.sequence_number
      if (FINAL_EVENTS.has(type)) {
        const response = data.response as Record<string, unknown> | undefined
        const finished = response && { ...response, usage: withCostUsd(response.usage, stream.cost()) }
        if (finished) onCompleted?.(finished)
        yield named(type, JSON.stringify({ ...data, response: finished, trace_context: traceContextBody(stream.ids) }))
      } else {
        yield named(type, event.raw ?? JSON.stringify(data))
      }
    }
  } catch (error) {
    // OpenAI's `error` event, with the error object the SDKs raise as an APIError.
    const { error: body } = stream.failure(error).toBody()
    const data = { type: 'error', code: body.code, message: body.message, param: body.param, sequence_number: sequence + 1, error: body, trace_context: traceContextBody(stream.ids) }
    yield named('error', JSON.stringify(data))
  }
}

export type { StreamEvent }
