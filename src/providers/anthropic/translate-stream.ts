// Anthropic stream events → OpenAI chat.completion.chunk objects. One translator per request: it
// holds the stream's state and hands back chunks and usage as values.
//
// Thinking: `thinking_delta` becomes `delta.reasoning_content` as it arrives. When a thinking
// block's `signature_delta` arrives (at the block's end) the complete block, text and signature,
// is sent once as `delta.thinking_blocks: [block]`, and a redacted block as soon as it starts:
// a caller collecting `thinking_blocks` from the deltas can send them back verbatim, as after a
// non-streamed answer.
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import type { ChatCompletionChunk, Usage } from '../../core/types.ts'
import { UpstreamStreamError } from '../upstream-errors.ts'
import { AnthropicStreamUsage } from './stream-usage.ts'
import type { RoundTripThinkingBlock } from './translate-messages.ts'
import { type FinishReason, finishReason, toOpenAIUsage } from './translate-response.ts'

/** Events the SDK's types leave out but the wire carries. */
export type AnthropicStreamEvent =
  | RawMessageStreamEvent
  | { type: 'ping' }
  | { type: 'error'; error: { type: string; message: string } }

export type ChunkDelta = ChatCompletionChunk.Choice.Delta & {
  reasoning_content?: string
  thinking_blocks?: RoundTripThinkingBlock[]
}

type BlockStart = Extract<AnthropicStreamEvent, { type: 'content_block_start' }>['content_block']
type BlockDelta = Extract<AnthropicStreamEvent, { type: 'content_block_delta' }>['delta']

export interface StreamOptions {
  /** From toAnthropicRequest: this tool's input is the answer and streams as content. */
  forcedJsonTool?: string
}

export class AnthropicStreamTranslator {
  private readonly forcedJsonTool: string | undefined
  private id = ''
  private model = ''
  private readonly created = Math.floor(Date.now() / 1000)
  private readonly totals = new AnthropicStreamUsage()
  /** Anthropic content-block index → OpenAI tool_calls index (0-based over tool_use blocks). */
  private readonly toolIndexes = new Map<number, number>()
  private jsonBlock: number | undefined
  private readonly thinkingText = new Map<number, string>()
  /**
   * In JSON mode text is held back until the stream shows whether the answer comes through the
   * JSON tool: then the text is dropped, as in the non-streamed answer; otherwise it is sent.
   */
  private heldText: string[] | undefined

  constructor(options: StreamOptions = {}) {
    this.forcedJsonTool = options.forcedJsonTool
    if (this.forcedJsonTool) this.heldText = []
  }

  push(event: AnthropicStreamEvent): ChatCompletionChunk[] {
    switch (event.type) {
      case 'message_start':
        this.id = event.message.id
        this.model = event.message.model
        this.totals.start(event.message.usage)
        return [this.chunk({ role: 'assistant', content: '' })]
      case 'content_block_start':
        return this.blockStart(event.index, event.content_block)
      case 'content_block_delta':
        return this.blockDelta(event.index, event.delta)
      case 'content_block_stop':
        return []
      case 'message_delta': {
        this.totals.add(event.usage)
        const chunks = this.releaseHeldText()
        const reason = finishReason(event.delta.stop_reason, this.jsonBlock !== undefined, this.toolIndexes.size > 0)
        chunks.push(this.chunk({}, reason))
        return chunks
      }
      case 'message_stop': {
        const totals = this.totals.numbers()
        return totals ? [{ ...this.base(), choices: [], usage: toOpenAIUsage(totals) }] : []
      }
      case 'ping':
        return []
      case 'error':
        // Classified (overloaded, rate limited …) and scrubbed by the adapter, as any upstream error.
        throw new UpstreamStreamError(event.error)
    }
  }

  /** Final once message_stop has been pushed; undefined if message_start never came. */
  usage(): Usage | undefined {
    return this.totals.usage()
  }

  private blockStart(index: number, block: BlockStart): ChatCompletionChunk[] {
    switch (block.type) {
      case 'text':
        return block.text ? this.text(block.text) : []
      case 'thinking':
        this.thinkingText.set(index, block.thinking)
        return block.thinking ? [this.chunk({ reasoning_content: block.thinking })] : []
      case 'redacted_thinking':
        return [this.chunk({ thinking_blocks: [{ type: 'redacted_thinking', data: block.data }] })]
      case 'tool_use': {
        if (block.name === this.forcedJsonTool) {
          this.jsonBlock = index
          this.heldText = []
          return []
        }
        const toolIndex = this.toolIndexes.size
        this.toolIndexes.set(index, toolIndex)
        const fn = { name: block.name, arguments: '' }
        return [this.chunk({ tool_calls: [{ index: toolIndex, id: block.id, type: 'function', function: fn }] })]
      }
      default:
        // Server tool blocks (web search, code execution…) ran upstream; OpenAI has no shape for them.
        return []
    }
  }

  private blockDelta(index: number, delta: BlockDelta): ChatCompletionChunk[] {
    switch (delta.type) {
      case 'text_delta':
        return this.text(delta.text)
      case 'input_json_delta': {
        if (delta.partial_json === '') return []
        if (index === this.jsonBlock) return [this.chunk({ content: delta.partial_json })]
        const toolIndex = this.toolIndexes.get(index)
        if (toolIndex === undefined) return []
        return [this.chunk({ tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json } }] })]
      }
      case 'thinking_delta':
        this.thinkingText.set(index, (this.thinkingText.get(index) ?? '') + delta.thinking)
        return [this.chunk({ reasoning_content: delta.thinking })]
      case 'signature_delta': {
        const thinking = this.thinkingText.get(index) ?? ''
        return [this.chunk({ thinking_blocks: [{ type: 'thinking', thinking, signature: delta.signature }] })]
      }
      default:
        // citations_delta: OpenAI has no place for citations.
        return []
    }
  }

  private text(text: string): ChatCompletionChunk[] {
    if (this.jsonBlock !== undefined) return []
    if (this.heldText) {
      this.heldText.push(text)
      return []
    }
    return [this.chunk({ content: text })]
  }

  private releaseHeldText(): ChatCompletionChunk[] {
    const held = this.heldText
    this.heldText = undefined
    if (!held || held.length === 0 || this.jsonBlock !== undefined) return []
    return [this.chunk({ content: held.join('') })]
  }

  private base(): Omit<ChatCompletionChunk, 'choices'> {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model }
  }

  private chunk(delta: ChunkDelta, finish: FinishReason | null = null): ChatCompletionChunk {
    return { ...this.base(), choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] }
  }
}
