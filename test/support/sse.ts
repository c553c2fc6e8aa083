// Reading SSE bodies in tests: the WHATWG event parser, and the JSON of OpenAI's chat and
// Responses streams. Re-exported by upstream.ts, where tests have always found them.
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import type { ResponseStreamEvent } from 'openai/resources/responses/responses'

export interface SseEvent {
  /** Absent when the event had no (or an empty) `event:` field, i.e. the default "message". */
  event?: string
  data: string
}

/**
 * Parse a complete SSE text per the WHATWG rules: `event:` and `data:` fields with one optional
 * space after the colon, several `data:` lines joined by \n, dispatch on a blank line, comments
 * (`:`) and other fields ignored, CR / LF / CRLF line ends. As in a browser, an event that is
 * not terminated by a blank line is dropped, and one with no data is never dispatched.
 */
export function sseEvents(text: string): SseEvent[] {
  const events: SseEvent[] = []
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)
  lines.pop() // what follows the last line end is an unfinished line, not a blank one
  let event = ''
  let data = ''
  for (const line of lines) {
    if (line === '') {
      if (data !== '') events.push({ ...(event && { event }), data: data.slice(0, -1) })
      event = ''
      data = ''
    } else if (!line.startsWith(':')) {
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      const raw = colon === -1 ? '' : line.slice(colon + 1)
      const value = raw.startsWith(' ') ? raw.slice(1) : raw
      if (field === 'event') event = value
      else if (field === 'data') data += `${value}\n`
    }
  }
  return events
}

/** The JSON of every `data:` event of an OpenAI stream but the final `[DONE]`. */
export function openaiStreamChunks(text: string): ChatCompletionChunk[] {
  return sseEvents(text)
    .filter((e) => e.data !== '[DONE]')
    .map((e) => JSON.parse(e.data) as ChatCompletionChunk)
}

/** The JSON of every event of a Responses stream (its `event:` names repeat the `type` inside). */
export function responseStreamEvents(text: string): ResponseStreamEvent[] {
  return sseEvents(text).map((e) => JSON.parse(e.data) as ResponseStreamEvent)
}
