// One model call for code inside the gateway (the reasoning agent), as opposed to a caller's
// HTTP request: the same router, adapters, LlmCall telemetry and pricing as chat, but the stream
// is assembled into one assistant message while text deltas are handed out as they arrive.
import type { Context } from '@opentelemetry/api'
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { Route } from './router.ts'
import type { ChatRequest, Usage } from './types.ts'
import { Deadline, isKnownModel, priceOf, type Cost } from './chat.ts'
import type { PriceBook } from '../pricing/cost.ts'
import { LlmCall } from '../telemetry/llm-call.ts'
import type { TraceIds } from '../telemetry/trace-context.ts'
import type { UnmeteredLog } from './unmetered.ts'

export interface ToolCallRequest {
  id: string
  name: string
  /** JSON text as the model wrote it. */
  arguments: string
}

export interface AssistantTurn {
  content: string
  /** Provider reasoning (OpenAI `reasoning_content`, Anthropic thinking). */
  reasoning: string
  toolCalls: ToolCallRequest[]
  /** Anthropic thinking blocks with signatures: sent back as they came so multi-turn tool use works. */
  thinkingBlocks: unknown[]
  finishReason: string
  usage: Usage | undefined
  cost: Cost | undefined
  ids: TraceIds | undefined
}

export interface TurnDeps {
  prices: PriceBook
  captureContent: boolean
  totalTimeoutMs: number
  /** Where calls answered without usage are logged. */
  unmetered?: UnmeteredLog | undefined
}

export interface TurnListener {
  onContent?(delta: string): void
  onReasoning?(delta: string): void
}

type Delta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: string; thinking_blocks?: unknown[] }

/** The assistant message to append to the conversation after this turn. */
export function assistantMessage(turn: AssistantTurn): ChatCompletionMessageParam {
  return {
    role: 'assistant',
    content: turn.content || null,
    ...(turn.toolCalls.length
      ? {
          tool_calls: turn.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
        }
      : {}),
    ...(turn.thinkingBlocks.length ? { thinking_blocks: turn.thinkingBlocks } : {}),
  } as ChatCompletionMessageParam
}

/**
 * Which call of the turn a streamed tool-call piece belongs to. OpenAI numbers calls by `index`
 * and sends the id once; OpenAI-compatible servers differ: some repeat the id on every piece
 * (DeepSeek, Qwen, LiteLLM), Ollama gives every call index 0, some leave `index` out. A known id
 * is that call; a new id at an index another call holds is a new call; without an index, a new
 * id starts a call and a piece without one continues the last.
 */
function toolCallSlot(calls: Array<ToolCallRequest | undefined>, part: { index?: number; id?: string }): number {
  if (part.id) {
    const known = calls.findIndex((c) => c?.id === part.id)
    if (known >= 0) return known
  }
  if (typeof part.index === 'number') {
    const held = calls[part.index]
    return held?.id && part.id && held.id !== part.id ? calls.length : part.index
  }
  return part.id || calls.length === 0 ? calls.length : calls.length - 1
}

/**
 * Streams one model call under `parent` (an agent iteration span), so its `llm.request` subtree
 * hangs below it. Throws the GatewayError that explains a failure (cancelled, timeout, upstream).
 */
export async function runModelTurn(
  deps: TurnDeps,
  route: Route,
  request: ChatRequest,
  callerSignal: AbortSignal,
  parent: Context,
  listener: TurnListener = {},
): Promise<AssistantTurn> {
  const call = new LlmCall(
    {
      provider: route.adapter.name,
      model: route.model,
      requestedModel: route.requested,
      streaming: true,
      messagesCount: request.messages.length,
      temperature: request.temperature,
      maxTokens: request.max_completion_tokens ?? request.max_tokens,
      endpoint: route.adapter.endpoint,
      demo: route.adapter.demo,
      knownModel: isKnownModel(deps.prices, route),
      inputMessages: deps.captureContent ? JSON.stringify(request.messages) : undefined,
      onUnmetered: () => deps.unmetered?.note(route.adapter.name, route.model),
    },
    parent,
  )
  const deadline = new Deadline(callerSignal, deps.totalTimeoutMs)
  const turn: AssistantTurn = {
    content: '',
    reasoning: '',
    toolCalls: [],
    thinkingBlocks: [],
    finishReason: '',
    usage: undefined,
    cost: undefined,
    ids: call.ids,
  }
  let responseModel: string | undefined
  let responseId: string | undefined
  try {
    const stream = await call.runUpstream(() =>
      route.adapter.stream({ ...request, stream: true }, route.model, { signal: deadline.signal }),
    )
    for await (const chunk of stream.chunks) {
      responseModel ??= chunk.model
      responseId ??= chunk.id
      for (const choice of chunk.choices) {
        const delta = choice.delta as Delta
        if (delta.content) {
          call.markFirstToken()
          turn.content += delta.content
          listener.onContent?.(delta.content)
        }
        if (delta.reasoning_content) {
          call.markFirstToken()
          turn.reasoning += delta.reasoning_content
          listener.onReasoning?.(delta.reasoning_content)
        }
        // One push per block: a spread passes each as an argument, and a long list overflows the stack.
        for (const block of delta.thinking_blocks ?? []) turn.thinkingBlocks.push(block)
        for (const part of delta.tool_calls ?? []) {
          call.markFirstToken()
          const entry = (turn.toolCalls[toolCallSlot(turn.toolCalls, part)] ??= { id: '', name: '', arguments: '' })
          // As the OpenAI SDK assembles them: id and name are set, only arguments are appended.
          if (part.id) entry.id = part.id
          if (part.function?.name) entry.name = part.function.name
          entry.arguments += part.function?.arguments ?? ''
        }
        if (choice.finish_reason) turn.finishReason = choice.finish_reason
      }
    }
    // The SDKs end an aborted stream quietly; a cut-short turn must not pass for a whole one.
    if (deadline.signal.aborted) throw new Error('the model stream was aborted')
    turn.usage = stream.usage()
  } catch (error) {
    const failure = deadline.explain(error)
    call.fail(failure)
    throw failure
  } finally {
    deadline.clear()
  }
  turn.toolCalls = turn.toolCalls.filter(Boolean)
  turn.cost = priceOf(deps.prices, route.adapter.name, route.model, turn.usage)
  call.succeed({
    usage: turn.usage,
    cost: turn.cost,
    responseModel,
    responseId,
    finishReasons: turn.finishReason ? [turn.finishReason] : [],
    outputMessages: deps.captureContent ? JSON.stringify([assistantMessage(turn)]) : undefined,
  })
  return turn
}
