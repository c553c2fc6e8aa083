// Turns an adapter's chunk stream into the SSE frames the caller reads, and closes the LlmCall
// when the stream ends, fails or is abandoned.
//
// Two rules shape it. Usage is always metered, but the usage chunk reaches the caller only when it
// asked (`stream_options.include_usage`). And `trace_context` rides on the final chunk: content
// chunks are written the moment they arrive (no added time to first token); only the chunk that
// carries a finish_reason, or the usage chunk, is held until we know whether it is the last.
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import type { CompletionStream, Usage } from './types.ts'
import type { LlmCall } from '../telemetry/llm-call.ts'
import type { Cost, Deadline } from './chat.ts'
import { traceContextBody } from '../telemetry/trace-context.ts'

export interface StreamFramesOptions {
  call: LlmCall
  stream: CompletionStream
  deadline: Deadline
  includeUsage: boolean
  captureContent: boolean
  price: (usage: Usage | undefined) => Cost | undefined
}

type Chunk = ChatCompletionChunk & { trace_context?: { trace_id: string; span_id: string } | null }

export function frame(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`
}

/**
 * A chunk's JSON text as the upstream sent it, registered by adapters that have it (OpenAI-
 * compatible ones): a chunk the gateway does not change is written on as it came instead of
 * being serialised again, which is most of the per-chunk cost of a stream.
 */
export const rawChunkJson = new WeakMap<object, string>()

/** OpenAI's tail on every chunk once usage was requested (the gateway always requests it). */
const USAGE_NULL_TAIL = ',"usage":null}'

/**
 * The frame of a chunk that goes out unchanged, or unchanged but for a removed `usage: null`:
 * from its original text when there is one and the removal is a plain cut of its tail.
 */
function passThrough(chunk: Chunk, usage: 'kept' | 'null removed' | 'removed'): string {
  const raw = rawChunkJson.get(chunk)
  if (raw !== undefined) {
    if (usage === 'kept') return `data: ${raw}\n\n`
    if (usage === 'null removed' && raw.endsWith(USAGE_NULL_TAIL)) return `data: ${raw.slice(0, -USAGE_NULL_TAIL.length)}}\n\n`
  }
  return frame(chunk)
}

const DONE = 'data: [DONE]\n\n'

function carriesToken(chunk: ChatCompletionChunk): boolean {
  for (const choice of chunk.choices) {
    const delta = choice.delta as { content?: string | null; tool_calls?: unknown[]; reasoning_content?: string }
    if (delta.content || delta.tool_calls?.length || delta.reasoning_content) return true
  }
  return false
}

export async function* streamFrames(options: StreamFramesOptions): AsyncGenerator<string> {
  const { call, stream, deadline, includeUsage, captureContent } = options
  const finishReasons: string[] = []
  let responseModel: string | undefined
  let responseId: string | undefined
  let output = ''
  let pending: Chunk | undefined
  let settled = false
  try {
    for await (const upstreamChunk of stream.chunks) {
      const chunk = upstreamChunk as Chunk
      responseModel ??= chunk.model
      responseId ??= chunk.id
      if (carriesToken(chunk)) call.markFirstToken()
      for (const choice of chunk.choices) {
        if (choice.finish_reason) finishReasons.push(choice.finish_reason)
        if (captureContent && choice.delta.content) output += choice.delta.content
      }
      const isUsageChunk = chunk.choices.length === 0 && chunk.usage != null
      if (isUsageChunk && !includeUsage) continue
      // OpenAI puts `usage: null` on every chunk once usage was requested; a caller that did not
      // ask for it should see the stream it would have got without the gateway.
      const usage = includeUsage || !('usage' in chunk) ? 'kept' : chunk.usage === null ? 'null removed' : 'removed'
      if (usage !== 'kept') delete chunk.usage
      if (pending) yield frame(pending)
      pending = undefined
      if (isUsageChunk || chunk.choices.some((c) => c.finish_reason)) pending = chunk
      else yield passThrough(chunk, usage)
    }
    // The SDKs end a stream quietly when its request is aborted: a stream cut short by the total
    // timeout or by the caller leaving must not pass for a complete one (504 event / cancelled).
    if (deadline.signal.aborted) throw new Error('the upstream stream was aborted')
    const usage = stream.usage()
    const cost = options.price(usage)
    const last: Chunk = pending ?? {
      id: responseId ?? '',
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: responseModel ?? call.info.model,
      choices: [],
    }
    if (last.usage && cost) last.usage = Object.assign(last.usage, { cost_usd: cost.total })
    last.trace_context = traceContextBody(call.ids)
    settled = true
    call.succeed({
      usage,
      cost,
      responseModel,
      responseId,
      finishReasons,
      outputMessages: captureContent ? JSON.stringify([{ role: 'assistant', content: output }]) : undefined,
    })
    yield frame(last)
    yield DONE
  } catch (error) {
    // After the first byte nothing is retried: the stream ends with an error event the OpenAI
    // SDKs raise as an APIError, and the span is marked failed.
    const failure = deadline.explain(error)
    settled = true
    call.fail(failure)
    if (pending) yield frame(pending)
    yield frame({ ...failure.toBody(), trace_context: traceContextBody(call.ids) })
  } finally {
    deadline.clear()
    // The writer stopped reading (the caller went away between chunks): still a cancellation.
    if (!settled) call.fail(deadline.explain(new Error('stream abandoned')))
  }
}
