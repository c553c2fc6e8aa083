// The Chat Completions API as an ingress: the span's view of a chat body, and the SSE framing of a
// chat stream.
//
// Two rules shape the framing. Usage is always metered, but the usage chunk reaches the caller
// only when it asked (`stream_options.include_usage`). And `trace_context` rides on the final
// chunk: content chunks are written the moment they arrive (no added time to first token); only
// the chunk that carries a finish_reason, or the usage chunk, is held until we know whether it is
// the last.
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions'
import type { CallStream } from '../dispatch.ts'
import type { StreamEvent } from '../translator.ts'
import type { ChatRequest } from '../types.ts'
import { traceContextBody } from '../../telemetry/trace-context.ts'
import { endUser, withAdditions, withCostUsd, type Ingress } from './ingress.ts'

type Chunk = ChatCompletionChunk & { trace_context?: { trace_id: string; span_id: string } | null }
type Delta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: string }

export const chatIngress: Ingress = {
  api: 'chat',
  operation: 'chat',

  shape(body) {
    const request = body as ChatRequest
    return {
      model: request.model,
      stream: request.stream === true,
      messagesCount: request.messages.length,
      temperature: request.temperature,
      maxTokens: request.max_completion_tokens ?? request.max_tokens,
      topP: request.top_p,
      // OpenAI's `user`, or its successor `safety_identifier` (as the Anthropic translator reads them).
      userId: endUser(request.user ?? request.safety_identifier),
    }
  },

  input: (body) => JSON.stringify((body as ChatRequest).messages),
  output: (answer) => JSON.stringify((answer as unknown as ChatCompletion).choices.map((c) => c.message)),

  carriesToken(event) {
    const choices = (event.data as unknown as ChatCompletionChunk).choices
    if (!Array.isArray(choices)) return false
    for (const choice of choices) {
      const delta = choice.delta as Delta | undefined
      if (delta && (delta.content || delta.tool_calls?.length || delta.reasoning_content)) return true
    }
    return false
  },

  collect(event, output) {
    const choices = (event.data as unknown as ChatCompletionChunk).choices
    if (Array.isArray(choices)) for (const choice of choices) if (choice.delta?.content) output.push(choice.delta.content)
  },

  finish: withAdditions,
}

export function frame(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`
}

/** OpenAI's tail on every chunk once usage was requested (the gateway always requests it). */
const USAGE_NULL_TAIL = ',"usage":null}'

/**
 * The frame of a chunk that goes out unchanged, or unchanged but for a removed `usage: null`:
 * from its original text when there is one and the removal is a plain cut of its tail. Writing
 * the upstream's text on saves serialising every chunk again, most of the per-chunk cost.
 */
function passThrough(event: StreamEvent, usage: 'kept' | 'null removed' | 'removed'): string {
  const raw = event.raw
  if (raw !== undefined) {
    if (usage === 'kept') return `data: ${raw}\n\n`
    if (usage === 'null removed' && raw.endsWith(USAGE_NULL_TAIL)) return `data: ${raw.slice(0, -USAGE_NULL_TAIL.length)}}\n\n`
  }
  return frame(event.data)
}

const DONE = 'data: [DONE]\n\n'

/** The SSE frames of a chat stream, ending with the chunk that carries trace_context and [DONE]. */
export async function* chatFrames(stream: CallStream, includeUsage: boolean): AsyncGenerator<string> {
  let pending: Chunk | undefined
  let id: string | undefined
  let model: string | undefined
  try {
    for await (const event of stream.events) {
      const chunk = event.data as unknown as Chunk
      id ??= chunk.id
      model ??= chunk.model
      const isUsageChunk = chunk.choices?.length === 0 && chunk.usage != null
      if (isUsageChunk && !includeUsage) continue
      // OpenAI puts `usage: null` on every chunk once usage was requested; a caller that did not
      // ask for it should see the stream it would have got without the gateway.
      const usage = includeUsage || !('usage' in chunk) ? 'kept' : chunk.usage === null ? 'null removed' : 'removed'
      if (usage !== 'kept') delete chunk.usage
      if (pending) yield frame(pending)
      pending = undefined
      if (isUsageChunk || chunk.choices?.some((c) => c.finish_reason)) pending = chunk
      else yield passThrough(event, usage)
    }
    const last: Chunk = pending ?? {
      id: id ?? '',
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: model ?? stream.model,
      choices: [],
    }
    if (last.usage) last.usage = withCostUsd(last.usage, stream.cost()) as Chunk['usage']
    last.trace_context = traceContextBody(stream.ids)
    yield frame(last)
    yield DONE
  } catch (error) {
    // After the first byte nothing is retried: the stream ends with an error event the OpenAI
    // SDKs raise as an APIError (the dispatch has recorded the failure).
    if (pending) yield frame(pending)
    yield frame({ ...stream.failure(error).toBody(), trace_context: traceContextBody(stream.ids) })
  }
}
