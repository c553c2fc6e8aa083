// Anthropic's Messages API as an ingress: the span's view of a Messages body, and the SSE framing
// of its events. Events go out as they came from the translator (or from Anthropic), their JSON
// text reused when unchanged; the final `message_delta` gets the cost in its usage, and
// `message_stop` carries `trace_context`. A failure ends the stream with Anthropic's `error`
// event.
import type { Message, MessageCreateParams } from '@anthropic-ai/sdk/resources/messages'
import type { CallStream } from '../dispatch.ts'
import { traceContextBody } from '../../telemetry/trace-context.ts'
import { endUser, withAdditions, withCostUsd, type Ingress } from './ingress.ts'

type MessagesBody = MessageCreateParams & Record<string, unknown>

const TOKEN_DELTAS = new Set(['text_delta', 'input_json_delta', 'thinking_delta'])

export const messagesIngress: Ingress = {
  api: 'messages',
  operation: 'chat',

  shape(body) {
    const request = body as MessagesBody
    return {
      model: request.model,
      stream: request.stream === true,
      messagesCount: Array.isArray(request.messages) ? request.messages.length : 0,
      temperature: numberOrUndefined(request.temperature),
      maxTokens: request.max_tokens,
      topP: numberOrUndefined(request.top_p),
      userId: endUser(request.metadata?.user_id),
    }
  },

  input: (body) => JSON.stringify({ system: (body as MessagesBody).system, messages: (body as MessagesBody).messages }),
  output: (answer) => JSON.stringify((answer as unknown as Message).content),

  carriesToken(event) {
    if (event.data.type !== 'content_block_delta') return false
    const delta = event.data.delta as { type?: string } | undefined
    return delta?.type !== undefined && TOKEN_DELTAS.has(delta.type)
  },

  collect(event, output) {
    const delta = event.data.delta as { type?: string; text?: string } | undefined
    if (event.data.type === 'content_block_delta' && delta?.type === 'text_delta' && delta.text) output.push(delta.text)
  },

  finish: withAdditions,
}

const numberOrUndefined = (value: unknown) => (typeof value === 'number' ? value : undefined)

function named(type: string, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`
}

export async function* messagesFrames(stream: CallStream): AsyncGenerator<string> {
  try {
    for await (const event of stream.events) {
      const data = event.data
      const type = String(data.type ?? event.event ?? 'message')
      if (type === 'message_delta' && data.usage) {
        yield named(type, JSON.stringify({ ...data, usage: withCostUsd(data.usage, stream.cost()) }))
      } else if (type === 'message_stop') {
        yield named(type, JSON.stringify({ ...data, trace_context: traceContextBody(stream.ids) }))
      } else {
        yield named(type, event.raw ?? JSON.stringify(data))
      }
    }
  } catch (error) {
    yield named('error', JSON.stringify({ ...stream.failure(error).toAnthropicBody(), trace_context: traceContextBody(stream.ids) }))
  }
}
