// One model call for code inside the gateway (the reasoning agent), as opposed to a caller's
// HTTP request: a chat call through the same dispatch as every route, its stream assembled into
// one assistant message while text deltas are handed out as they arrive.
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { ChatRequest, Usage } from './types.ts'
import type { Cost } from '../pricing/cost.ts'
import { GatewayError } from '../errors.ts'
import type { CallParent } from '../telemetry/llm-call.ts'
import type { TraceIds } from '../telemetry/trace-context.ts'
import type { CallOptions, Dispatch } from './dispatch.ts'
import { chatIngress } from './ingress/chat.ts'
import type { StreamEvent } from './translator.ts'

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
  /** The target that answered (a route group may have moved on from its first). */
  servedBy: { provider: string; model: string } | undefined
}

/**
 * What the agent's caller tells each of its model calls: who is calling, the cache, the
 * accounting; and `admitTurn`, asked before each turn after the first (rate limits and budgets).
 */
export type TurnOptions = Pick<CallOptions, 'caller' | 'cacheControl' | 'onSettled' | 'parent'> & { admitTurn?: (() => Promise<void>) | undefined }

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
  dispatch: Dispatch,
  request: ChatRequest,
  callerSignal: AbortSignal,
  parent: CallParent,
  listener: TurnListener = {},
  options: TurnOptions = {},
): Promise<AssistantTurn> {
  const result = await dispatch.call(chatIngress, { ...request, stream: true }, callerSignal, { ...options, parent, stream: true })
  if ('error' in result) throw result.error
  if (!('stream' in result)) throw new GatewayError('internal', 'a streamed model turn was answered with JSON')
  const { stream } = result
  const turn: AssistantTurn = {
    content: '',
    reasoning: '',
    toolCalls: [],
    thinkingBlocks: [],
    finishReason: '',
    usage: undefined,
    cost: undefined,
    ids: result.ids,
    servedBy: targetOf(result.headers['x-gateway-target']),
  }
  try {
    await readTurn(stream.events, turn, listener)
  } finally {
    stream.close()
  }
  turn.toolCalls = turn.toolCalls.filter(Boolean)
  turn.usage = stream.usage()
  turn.cost = stream.cost()
  return turn
}

/** `provider/model` as the dispatch names the target that served (a provider name has no slash). */
function targetOf(header: string | undefined): AssistantTurn['servedBy'] {
  const slash = header?.indexOf('/') ?? -1
  return header && slash > 0 ? { provider: header.slice(0, slash), model: header.slice(slash + 1) } : undefined
}

/** Assembles the turn from the chat chunks, handing text and reasoning deltas out as they come. */
async function readTurn(events: AsyncIterable<StreamEvent>, turn: AssistantTurn, listener: TurnListener): Promise<void> {
  for await (const event of events) {
    const chunk = event.data as unknown as ChatCompletionChunk
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta as Delta
      if (delta.content) {
        turn.content += delta.content
        listener.onContent?.(delta.content)
      }
      if (delta.reasoning_content) {
        turn.reasoning += delta.reasoning_content
        listener.onReasoning?.(delta.reasoning_content)
      }
      // One push per block: a spread passes each as an argument, and a long list overflows the stack.
      for (const block of delta.thinking_blocks ?? []) turn.thinkingBlocks.push(block)
      for (const part of delta.tool_calls ?? []) {
        const entry = (turn.toolCalls[toolCallSlot(turn.toolCalls, part)] ??= { id: '', name: '', arguments: '' })
        // As the OpenAI SDK assembles them: id and name are set, only arguments are appended.
        if (part.id) entry.id = part.id
        if (part.function?.name) entry.name = part.function.name
        entry.arguments += part.function?.arguments ?? ''
      }
      if (choice.finish_reason) turn.finishReason = choice.finish_reason
    }
  }
}
