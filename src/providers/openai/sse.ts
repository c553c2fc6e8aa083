// Server-sent events as the WHATWG spec reads them (the OpenAI SDK's decoder does the same):
// lines end with \n, \r\n or \r; `data:` lines join with \n; `event:` names the event; lines
// starting with `:` are comments; a blank line dispatches. Text comes in as the network cuts it,
// so a line, a `data:` prefix or a \r\n pair may be split across pushes.

export interface SseEvent {
  event: string | undefined
  data: string
  /** The data came on one `data:` line: it holds no line break and can be re-framed as it is. */
  singleLine: boolean
}

export class SseDecoder {
  private rest = ''
  private data: string | undefined
  private lines = 0
  private event: string | undefined

  /** Appends `text` and adds the events it completes to `out`. */
  push(text: string, out: SseEvent[]): void {
    let buffer = this.rest + text
    // A \r at the very end may be the first half of \r\n: decide once the next byte is known.
    let keep = ''
    if (buffer.endsWith('\r')) {
      keep = '\r'
      buffer = buffer.slice(0, -1)
    }
    if (buffer.includes('\r')) buffer = buffer.replace(/\r\n?/g, '\n')
    let start = 0
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n', start)) {
      this.line(buffer.slice(start, end), out)
      start = end + 1
    }
    this.rest = (start === 0 ? buffer : buffer.slice(start)) + keep
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data !== undefined) out.push({ event: this.event, data: this.data, singleLine: this.lines === 1 })
      this.data = undefined
      this.lines = 0
      this.event = undefined
      return
    }
    if (line.charCodeAt(0) === 58 /* : */) return
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32 /* space */) value = value.slice(1)
    if (field === 'data') {
      this.data = this.data === undefined ? value : `${this.data}\n${value}`
      this.lines++
    } else if (field === 'event') {
      this.event = value
    }
  }
}
