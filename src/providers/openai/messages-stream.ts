// Chat completion chunks → Anthropic Messages stream events, in Anthropic's order:
// message_start, then one content block at a time (content_block_start, its deltas,
// content_block_stop, with increasing `index`), then message_delta with the stop reason and the
// usage, then message_stop. One translator per call.
//
// A chat stream says what it is writing only by which delta field moves: reasoning_content (a
// thinking block), content or refusal (a text block), tool_calls[index] (a tool_use block each).
// Each change of kind closes the block being written and opens the next, so blocks never
// interleave; chat servers send tool calls one after the other. A tool call's arguments are
// passed on as they come (input_json_delta), as Anthropic streams a tool's input.
//
// Usage: a chat stream reports it only at the end, in a chunk after the finish chunk. So
// message_start can only carry zeros (nothing is known yet: the prompt is counted by the
// upstream, and the gateway guesses no counts), and message_delta, sent when the usage chunk
// comes (or at the end of a stream that had none), carries the full cumulative usage, input and
// cache counts included: a client reading the final message_delta, as the Anthropic SDKs and
// Claude Code do, sees the real numbers.
import type { AnswerFacts, StreamEvent, StreamTranslator } from '../../core/translator.ts'
import {
  type MessageUsage,
  messageId,
  messageShell,
  messageUsage,
  reasoningOf,
  stopReason,
  textBlock,
  thinkingBlock,
  toolUseId,
  toolUseStart,
} from './messages-output.ts'
import { chatFacts } from './responses-output.ts'
import { toolCallKey } from './responses-stream.ts'
import { isObject } from './responses-tools.ts'

type Json = Record<string, unknown>

interface OpenBlock {
  kind: 'thinking' | 'text' | 'tool'
  index: number
}

/** What message_start can say of the usage: nothing is counted yet. */
const NOTHING_YET: MessageUsage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 }

export class MessagesStreamTranslator implements StreamTranslator {
  private readonly request: Json
  private started = false
  private finished = false
  private model: string | undefined
  private upstreamId: string | undefined
  private usage: unknown
  private readonly finishReasons: string[] = []
  private calledTools = false
  private nextIndex = 0
  private open: OpenBlock | undefined
  /** Chat tool_calls index → its block (kept after it closed, to know a late piece from a new call). */
  private readonly calls = new Map<number | string, OpenBlock>()
  private lastCall: number | string = 0

  constructor(request: Json) {
    this.request = request
  }

  push(event: StreamEvent, out: StreamEvent[]): void {
    const chunk = event.data
    if (typeof chunk.model === 'string' && chunk.model !== '') this.model = chunk.model
    if (typeof chunk.id === 'string') this.upstreamId ??= chunk.id
    if (isObject(chunk.usage)) this.usage = chunk.usage
    if (this.finished) return
    const choices = Array.isArray(chunk.choices) ? chunk.choices : []
    // An Anthropic request asks for one answer: only choice 0 exists.
    const choice = choices.find((c: unknown) => isObject(c) && (c.index ?? 0) === 0) as Json | undefined
    if (choice) {
      this.start(out)
      const delta = isObject(choice.delta) ? choice.delta : {}
      const reasoning = reasoningOf(delta)
      if (reasoning !== '') this.delta('thinking', { type: 'thinking_delta', thinking: reasoning }, out)
      for (const field of ['content', 'refusal']) {
        const text = delta[field]
        if (typeof text === 'string' && text !== '') this.delta('text', { type: 'text_delta', text }, out)
      }
      if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) if (isObject(call)) this.toolCall(call, out)
      if (choice.finish_reason != null) {
        this.finishReasons.push(String(choice.finish_reason))
        this.close(out)
      }
    }
    // The usage chunk follows the finish chunk (or rides on it): the message can be closed.
    if (this.finishReasons.length > 0 && this.usage !== undefined) this.finish(out)
  }

  end(out: StreamEvent[]): void {
    if (this.finished) return
    this.start(out)
    this.close(out)
    this.finish(out)
  }

  facts(): AnswerFacts {
    return chatFacts({ id: this.upstreamId, model: this.model, usage: this.usage }, [...this.finishReasons])
  }

  private start(out: StreamEvent[]): void {
    if (this.started) return
    this.started = true
    const usage = this.usage === undefined ? { ...NOTHING_YET } : messageUsage(this.usage)
    const model = this.model ?? String(this.request.model ?? '')
    this.emit('message_start', { message: messageShell(messageId(this.upstreamId), model, usage) }, out)
  }

  /**
   * message_delta and message_stop. Without a finish chunk the upstream stopped mid-answer, and
   * the stop reason is null: it did not say why, and what came may be cut (a tool's input too).
   * Without a usage chunk the counts are null, Anthropic's "not known".
   */
  private finish(out: StreamEvent[]): void {
    this.finished = true
    const finish = this.finishReasons.at(-1)
    const usage = this.usage === undefined
      ? { input_tokens: null, output_tokens: 0, cache_read_input_tokens: null, cache_creation_input_tokens: null }
      : messageUsage(this.usage)
    const reason = finish === undefined ? null : stopReason(finish, this.calledTools)
    this.emit('message_delta', { delta: { stop_reason: reason, stop_sequence: null }, usage }, out)
    this.emit('message_stop', {}, out)
  }

  private emit(type: string, fields: Json, out: StreamEvent[]): void {
    out.push({ event: type, data: { type, ...fields } })
  }

  private begin(kind: OpenBlock['kind'], contentBlock: Json, out: StreamEvent[]): OpenBlock {
    this.close(out)
    const block: OpenBlock = { kind, index: this.nextIndex++ }
    this.emit('content_block_start', { index: block.index, content_block: contentBlock }, out)
    this.open = block
    return block
  }

  private close(out: StreamEvent[]): void {
    if (!this.open) return
    this.emit('content_block_stop', { index: this.open.index }, out)
    this.open = undefined
  }

  /** A thinking or text delta, in the open block of its kind or a new one. */
  private delta(kind: 'thinking' | 'text', delta: Json, out: StreamEvent[]): void {
    let block = this.open
    if (block?.kind !== kind) block = this.begin(kind, kind === 'thinking' ? thinkingBlock('') : textBlock(''), out)
    this.emit('content_block_delta', { index: block.index, delta }, out)
  }

  private toolCall(call: Json, out: StreamEvent[]): void {
    // We offer chat servers function tools only: a call of another type has no tool to go to
    // (the JSON answer leaves it out too).
    if (isObject(call.custom) || (typeof call.type === 'string' && call.type !== 'function')) return
    const key = toolCallKey(call, this.lastCall)
    this.lastCall = key
    const fn = isObject(call.function) ? call.function : {}
    let block = this.calls.get(key)
    if (!block) {
      block = this.begin('tool', toolUseStart(toolUseId(call.id), String(fn.name ?? '')), out)
      this.calls.set(key, block)
      this.calledTools = true
    }
    const piece = typeof fn.arguments === 'string' ? fn.arguments : ''
    // A piece for a call already closed (a server interleaving calls, none known) cannot be sent:
    // Anthropic's stream has no deltas after a block's stop.
    if (piece === '' || this.open !== block) return
    this.emit('content_block_delta', { index: block.index, delta: { type: 'input_json_delta', partial_json: piece } }, out)
  }
}
