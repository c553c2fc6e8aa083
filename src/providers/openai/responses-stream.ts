// Chat completion chunks → the typed Responses stream events, in OpenAI's order: created,
// in_progress, then one output item at a time (added, its parts and deltas, done), then
// completed (or incomplete) with the whole Response and its usage. One translator per call.
//
// A chat stream says what it is writing only by which delta field moves: reasoning_content,
// content, refusal, tool_calls[index]. Each change of kind closes the item being written and
// opens the next, so items never interleave; chat servers send tool calls one after the other.
// The usage chunk comes after the finish chunk, so the closing event waits for end().
// A custom tool's input arrives as JSON (`{"input": "…"}`) around it: it is sent whole, as one
// delta, when the call is complete rather than cut out of half-received JSON.
import type { AnswerFacts, StreamEvent, StreamTranslator } from '../../core/translator.ts'
import { type ThinkingBlock, thinkingBlocksOf } from './reasoning-carry.ts'
import {
  type CallShape,
  callItem,
  callItemId,
  callShape,
  chatFacts,
  customInput,
  finishedResponse,
  type ItemStatus,
  messageItem,
  newId,
  reasoningItem,
  refusalPart,
  responseShell,
  statusFor,
  textPart,
  unixNow,
} from './responses-output.ts'
import { isObject, type ToolPlan } from './responses-tools.ts'

type Json = Record<string, unknown>
type PartType = 'output_text' | 'refusal'

interface OpenReasoning { kind: 'reasoning'; id: string; index: number; text: string; blocks: ThinkingBlock[]; partOpen: boolean }
interface OpenMessage { kind: 'message'; id: string; index: number; parts: Json[]; part: { type: PartType; text: string } | undefined }
interface OpenCall { kind: 'call'; id: string; index: number; shape: CallShape; text: string }
type OpenItem = OpenReasoning | OpenMessage | OpenCall

export class ResponsesStreamTranslator implements StreamTranslator {
  private readonly request: Json
  private readonly plan: ToolPlan
  private readonly id = newId('resp')
  private readonly createdAt = unixNow()
  private shell: Json | undefined
  private sequence = 0
  private model: string | undefined
  private upstreamId: string | undefined
  private usage: unknown
  private readonly finishReasons: string[] = []
  /** Finished items by output_index. */
  private readonly output: Json[] = []
  private nextIndex = 0
  private open: OpenItem | undefined
  /** Chat tool_calls index → its item (kept after it closed, for arguments that come late). */
  private readonly calls = new Map<number | string, OpenCall>()
  private lastCall: number | string = 0
  private ended = false

  constructor(request: Json, plan: ToolPlan) {
    this.request = request
    this.plan = plan
  }

  push(event: StreamEvent, out: StreamEvent[]): void {
    const chunk = event.data
    if (typeof chunk.model === 'string') this.model = chunk.model
    this.start(out)
    if (typeof chunk.id === 'string') this.upstreamId ??= chunk.id
    if (isObject(chunk.usage)) this.usage = chunk.usage
    const choices = Array.isArray(chunk.choices) ? chunk.choices : []
    // A Responses request asks for one answer: only choice 0 exists.
    const choice = choices.find((c: unknown) => isObject(c) && (c.index ?? 0) === 0) as Json | undefined
    if (!choice) return
    const delta = isObject(choice.delta) ? choice.delta : {}
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') this.reasoningText(delta.reasoning_content, out)
    const blocks = thinkingBlocksOf(delta.thinking_blocks)
    if (blocks.length > 0) for (const block of blocks) this.reasoning(out).blocks.push(block)
    if (typeof delta.content === 'string' && delta.content !== '') this.text('output_text', delta.content, out)
    if (typeof delta.refusal === 'string' && delta.refusal !== '') this.text('refusal', delta.refusal, out)
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) if (isObject(call)) this.toolCall(call, out)
    if (choice.finish_reason != null) {
      this.finishReasons.push(String(choice.finish_reason))
      this.closeOpen(statusFor(choice.finish_reason).status, out)
    }
  }

  end(out: StreamEvent[]): void {
    if (this.ended) return
    this.ended = true
    this.start(out)
    const finish = this.finishReasons.at(-1)
    // No finish chunk: the upstream stopped mid-answer. What came is kept, marked incomplete.
    this.closeOpen(finish === undefined ? 'incomplete' : 'completed', out)
    const response = finishedResponse({ ...this.shell, model: this.model ?? this.shell?.model }, this.output, finish, this.usage)
    if (finish === undefined) {
      response.status = 'incomplete'
      response.completed_at = null
    }
    const type = response.status === 'completed' ? 'response.completed' : 'response.incomplete'
    this.emit(type, { response }, out)
  }

  facts(): AnswerFacts {
    return chatFacts({ id: this.upstreamId, model: this.model, usage: this.usage }, [...this.finishReasons])
  }

  private start(out: StreamEvent[]): void {
    if (this.shell) return
    this.shell = responseShell(this.request, this.id, this.createdAt, this.model)
    this.emit('response.created', { response: this.shell }, out)
    this.emit('response.in_progress', { response: this.shell }, out)
  }

  private emit(type: string, fields: Json, out: StreamEvent[]): void {
    out.push({ event: type, data: { type, ...fields, sequence_number: this.sequence++ } })
  }

  private beginItem(item: Json, out: StreamEvent[]): number {
    this.closeOpen('completed', out)
    const index = this.nextIndex++
    this.emit('response.output_item.added', { output_index: index, item }, out)
    return index
  }

  private finishItem(index: number, item: Json, out: StreamEvent[]): void {
    this.output[index] = item
    this.emit('response.output_item.done', { output_index: index, item }, out)
  }

  // ---------------------------------------------------------------- reasoning

  private reasoning(out: StreamEvent[]): OpenReasoning {
    if (this.open?.kind === 'reasoning') return this.open
    const id = newId('rs')
    const index = this.beginItem(reasoningItem(id, '', []), out)
    const open: OpenReasoning = { kind: 'reasoning', id, index, text: '', blocks: [], partOpen: false }
    this.open = open
    return open
  }

  private reasoningText(delta: string, out: StreamEvent[]): void {
    const r = this.reasoning(out)
    const at = { item_id: r.id, output_index: r.index, summary_index: 0 }
    if (!r.partOpen) {
      r.partOpen = true
      this.emit('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } }, out)
    }
    r.text += delta
    this.emit('response.reasoning_summary_text.delta', { ...at, delta }, out)
  }

  private closeReasoning(r: OpenReasoning, out: StreamEvent[]): void {
    if (r.partOpen) {
      const at = { item_id: r.id, output_index: r.index, summary_index: 0 }
      this.emit('response.reasoning_summary_text.done', { ...at, text: r.text }, out)
      this.emit('response.reasoning_summary_part.done', { ...at, part: { type: 'summary_text', text: r.text } }, out)
    }
    this.finishItem(r.index, reasoningItem(r.id, r.text, r.blocks), out)
  }

  // ---------------------------------------------------------------- message

  private text(type: PartType, delta: string, out: StreamEvent[]): void {
    let m = this.open
    if (m?.kind !== 'message') {
      const id = newId('msg')
      const index = this.beginItem(messageItem(id, [], 'in_progress'), out)
      m = { kind: 'message', id, index, parts: [], part: undefined }
      this.open = m
    }
    const at = { item_id: m.id, output_index: m.index, content_index: m.parts.length }
    if (m.part?.type !== type) {
      this.closePart(m, out)
      at.content_index = m.parts.length
      m.part = { type, text: '' }
      this.emit('response.content_part.added', { ...at, part: type === 'output_text' ? textPart('') : refusalPart('') }, out)
    }
    m.part.text += delta
    if (type === 'output_text') this.emit('response.output_text.delta', { ...at, delta, logprobs: [] }, out)
    else this.emit('response.refusal.delta', { ...at, delta }, out)
  }

  private closePart(m: OpenMessage, out: StreamEvent[]): void {
    const part = m.part
    if (!part) return
    const at = { item_id: m.id, output_index: m.index, content_index: m.parts.length }
    const done = part.type === 'output_text' ? textPart(part.text) : refusalPart(part.text)
    if (part.type === 'output_text') this.emit('response.output_text.done', { ...at, text: part.text, logprobs: [] }, out)
    else this.emit('response.refusal.done', { ...at, refusal: part.text }, out)
    this.emit('response.content_part.done', { ...at, part: done }, out)
    m.parts.push(done)
    m.part = undefined
  }

  // ---------------------------------------------------------------- tool calls

  private toolCall(call: Json, out: StreamEvent[]): void {
    const k = toolCallKey(call, this.lastCall)
    this.lastCall = k
    const fn = isObject(call.function) ? call.function : {}
    let c = this.calls.get(k)
    if (!c) {
      const shape = callShape(this.plan, String(fn.name ?? ''), String(call.id ?? ''))
      const id = callItemId(shape)
      const index = this.beginItem(callItem(id, shape, '', 'in_progress'), out)
      c = { kind: 'call', id, index, shape, text: '' }
      this.calls.set(k, c)
      this.open = c
    }
    const piece = typeof fn.arguments === 'string' ? fn.arguments : ''
    if (piece === '') return
    c.text += piece
    if (this.open !== c) {
      // Arguments for a call already closed (a server interleaving calls): the final item gets them.
      this.output[c.index] = callItem(c.id, c.shape, c.text, 'completed')
      return
    }
    if (!c.shape.custom) {
      this.emit('response.function_call_arguments.delta', { item_id: c.id, output_index: c.index, delta: piece }, out)
    }
  }

  private closeCall(c: OpenCall, status: ItemStatus, out: StreamEvent[]): void {
    const at = { item_id: c.id, output_index: c.index }
    if (c.shape.custom) {
      const input = customInput(c.text)
      if (input !== '') this.emit('response.custom_tool_call_input.delta', { ...at, delta: input }, out)
      this.emit('response.custom_tool_call_input.done', { ...at, input }, out)
    } else {
      this.emit('response.function_call_arguments.done', { ...at, name: c.shape.name, arguments: c.text }, out)
    }
    this.finishItem(c.index, callItem(c.id, c.shape, c.text, status), out)
  }

  private closeOpen(status: ItemStatus, out: StreamEvent[]): void {
    const open = this.open
    this.open = undefined
    switch (open?.kind) {
      case 'reasoning':
        this.closeReasoning(open, out)
        break
      case 'message':
        this.closePart(open, out)
        this.finishItem(open.index, messageItem(open.id, open.parts, status), out)
        break
      case 'call':
        this.closeCall(open, status, out)
        break
    }
  }
}

/**
 * Which call a chat `tool_calls` delta belongs to: its `index`. Some servers leave out `index`
 * and send each call whole: then a new id is a new call, and a delta with neither continues the
 * last one.
 */
export function toolCallKey(call: Json, last: number | string): number | string {
  if (typeof call.index === 'number') return call.index
  return typeof call.id === 'string' && call.id !== '' ? `id:${call.id}` : last
}
