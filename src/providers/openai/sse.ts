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

/** A line ends with \r\n, \n or \r. */
const LINE_END = /\r\n?|\n/g

export class SseDecoder {
  /** Pieces of a line not ended yet: joined once it ends, so a line trickled in tiny pieces costs its length, not its length squared. */
  private partial: string[] = []
  /** The last push ended with \r: a \n at the start of the next one is the second half of \r\n. */
  private afterCR = false
  private data: string | undefined
  private lines = 0
  private event: string | undefined

  /** Reads `text` (only it: what came before is never scanned again) and adds the events it completes to `out`. */
  push(text: string, out: SseEvent[]): void {
    let start = 0
    if (this.afterCR) {
      this.afterCR = false
      if (text.charCodeAt(0) === 10 /* \n */) start = 1
    }
    LINE_END.lastIndex = start
    for (let end = LINE_END.exec(text); end !== null; end = LINE_END.exec(text)) {
      let line = text.slice(start, end.index)
      if (this.partial.length > 0) {
        this.partial.push(line)
        line = this.partial.join('')
        this.partial = []
      }
      start = end.index + end[0].length
      if (start === text.length && end[0] === '\r') this.afterCR = true
      this.line(line, out)
    }
    if (start < text.length) this.partial.push(text.slice(start))
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
