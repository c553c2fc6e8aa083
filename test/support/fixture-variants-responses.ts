// The other mode of a recorded OpenAI Responses exchange (POST /v1/responses), so that each one
// can be replayed both streamed and not. See fixture-variants.ts for chat and Anthropic.
//
// THESE VARIANTS ARE DERIVED FROM THE RECORDINGS, NOT RECORDED. The event shapes follow the
// recorded streams field for field (openai-responses-text-stream, -function-call-stream,
// -cache-hit-stream): response.created and response.in_progress carry the Response shell
// (status in_progress, no output, usage null); each output item opens with
// response.output_item.added (the item with status in_progress and its content / arguments
// empty) and closes with response.output_item.done (the item whole); a message's parts open with
// response.content_part.added (the part with empty text), then the text deltas (`logprobs: []`),
// response.output_text.done and response.content_part.done; a function call's arguments arrive
// as response.function_call_arguments.delta fragments then .done; the stream ends with
// response.completed carrying the Response with its usage, copied, never recomputed. Every
// event has `sequence_number`, counting from 0 (the 2025 function-call recording predates it).
// The recordings' `obfuscation` padding (random characters that hide the delta lengths) is
// not reproduced: the SDK ignores it and it carries nothing.
//
// Kinds no recording shows are built from OpenAI's documented event types (the `openai` SDK's
// ResponseStreamEvent union): refusal parts (response.refusal.delta / .done), reasoning
// summaries (response.reasoning_summary_part.added, response.reasoning_summary_text.delta /
// .done, response.reasoning_summary_part.done), reasoning text (response.reasoning_text.delta /
// .done), custom tool input (response.custom_tool_call_input.delta / .done). Other item types
// (web_search_call, ...) arrive whole in their added / done events.
import { asArray, fragments, isObject, pieces } from './fixture-variants.ts'
import { sseEvents } from './sse.ts'

type Json = Record<string, unknown>

/** The terminal event for a Response's status: response.completed / .incomplete / .failed. */
const TERMINAL: Record<string, string> = {
  completed: 'response.completed',
  incomplete: 'response.incomplete',
  failed: 'response.failed',
}

/**
 * A Response JSON body → the SSE stream the API sends for the same answer (`event:` named after
 * the type, one `data:` line, a blank line; no `[DONE]`: the Responses API ends with its
 * terminal event).
 */
export function responseToSse(response: Json): string {
  const events: Json[] = []
  const emit = (event: Json) => events.push({ ...event, sequence_number: events.length })

  // The shell the stream opens with: as created, before any output or usage exists.
  const shell: Json = { ...response, status: 'in_progress', output: [], usage: null }
  if ('completed_at' in response) shell.completed_at = null
  if ('error' in response) shell.error = null
  if ('incomplete_details' in response) shell.incomplete_details = null
  emit({ type: 'response.created', response: shell })
  emit({ type: 'response.in_progress', response: shell })

  asArray(response.output).forEach((raw, output_index) => {
    const item = isObject(raw) ? raw : {}
    const item_id = item.id
    const opened: Json = { ...item }
    if ('status' in item) opened.status = 'in_progress'
    switch (item.type) {
      case 'message':
        emit({ type: 'response.output_item.added', item: { ...opened, content: [] }, output_index })
        asArray(item.content).forEach((rawPart, content_index) => messagePart(emit, rawPart, item_id, output_index, content_index))
        break
      case 'function_call': {
        emit({ type: 'response.output_item.added', item: { ...opened, arguments: '' }, output_index })
        const args = String(item.arguments ?? '')
        for (const delta of fragments(args)) emit({ type: 'response.function_call_arguments.delta', item_id, output_index, delta })
        emit({ type: 'response.function_call_arguments.done', item_id, output_index, arguments: args })
        break
      }
      case 'custom_tool_call': {
        emit({ type: 'response.output_item.added', item: { ...opened, input: '' }, output_index })
        const input = String(item.input ?? '')
        for (const delta of fragments(input)) emit({ type: 'response.custom_tool_call_input.delta', item_id, output_index, delta })
        emit({ type: 'response.custom_tool_call_input.done', item_id, output_index, input })
        break
      }
      case 'reasoning':
        emit({
          type: 'response.output_item.added',
          item: { ...opened, summary: [], ...(Array.isArray(item.content) && { content: [] }) },
          output_index,
        })
        reasoning(emit, item, output_index)
        break
      default:
        emit({ type: 'response.output_item.added', item: opened, output_index })
    }
    emit({ type: 'response.output_item.done', item, output_index })
  })

  emit({ type: TERMINAL[String(response.status)] ?? 'response.completed', response })
  return events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join('')
}

type Emit = (event: Json) => void

function messagePart(emit: Emit, rawPart: unknown, item_id: unknown, output_index: number, content_index: number): void {
  const part = isObject(rawPart) ? rawPart : {}
  const where = { content_index, item_id, output_index }
  if (part.type === 'refusal') {
    const refusal = String(part.refusal ?? '')
    emit({ type: 'response.content_part.added', ...where, part: { ...part, refusal: '' } })
    for (const delta of pieces(refusal, 3)) emit({ type: 'response.refusal.delta', ...where, delta })
    emit({ type: 'response.refusal.done', ...where, refusal })
  } else {
    const text = String(part.text ?? '')
    const empty: Json = { ...part, text: '' }
    if ('annotations' in part) empty.annotations = []
    if ('logprobs' in part) empty.logprobs = []
    emit({ type: 'response.content_part.added', ...where, part: empty })
    for (const delta of pieces(text, 3)) emit({ type: 'response.output_text.delta', ...where, delta, logprobs: [] })
    emit({ type: 'response.output_text.done', ...where, logprobs: asArray(part.logprobs), text })
  }
  emit({ type: 'response.content_part.done', ...where, part })
}

function reasoning(emit: Emit, item: Json, output_index: number): void {
  const item_id = item.id
  asArray(item.summary).forEach((rawPart, summary_index) => {
    const text = String(isObject(rawPart) ? (rawPart.text ?? '') : '')
    const where = { item_id, output_index, summary_index }
    emit({ type: 'response.reasoning_summary_part.added', ...where, part: { type: 'summary_text', text: '' } })
    for (const delta of pieces(text, 3)) emit({ type: 'response.reasoning_summary_text.delta', ...where, delta })
    emit({ type: 'response.reasoning_summary_text.done', ...where, text })
    emit({ type: 'response.reasoning_summary_part.done', ...where, part: { type: 'summary_text', text } })
  })
  asArray(item.content).forEach((rawPart, content_index) => {
    const text = String(isObject(rawPart) ? (rawPart.text ?? '') : '')
    const where = { content_index, item_id, output_index }
    for (const delta of pieces(text, 3)) emit({ type: 'response.reasoning_text.delta', ...where, delta })
    emit({ type: 'response.reasoning_text.done', ...where, text })
  })
}

/**
 * A Responses SSE stream → the Response JSON body of the same answer: the `response` of its
 * terminal event (response.completed, .incomplete or .failed), which the API fills with the whole
 * output and the usage. Throws when the stream has none (cut short, or an `error` event).
 */
export function responseSseToJson(sse: string): Json {
  let last: Json | undefined
  for (const { data } of sseEvents(sse)) {
    const event = JSON.parse(data) as Json
    if (event.type === 'error') throw new Error(`the stream ends in an error event: ${data}`)
    if (Object.values(TERMINAL).includes(String(event.type)) && isObject(event.response)) last = event.response
  }
  if (!last) throw new Error('not a complete Responses stream: no response.completed / .incomplete / .failed event')
  return last
}
