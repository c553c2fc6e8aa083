// The SSE decoder of OpenAI-compatible upstreams: text arrives as the network cuts it (a line, a
// `data:` prefix or a \r\n pair split across pushes), and what comes out must not depend on where
// the cuts fell. A line trickled in tiny pieces must cost its length, not its length squared.
import t from 'tap'
import { SseDecoder, type SseEvent } from '../../../src/providers/openai/sse.ts'

function decode(pieces: string[]): SseEvent[] {
  const decoder = new SseDecoder()
  const out: SseEvent[] = []
  for (const piece of pieces) decoder.push(piece, out)
  return out
}

/** Deterministic uneven cuts of 1–5 characters. */
function cut(text: string, seed: number): string[] {
  const pieces: string[] = []
  let state = seed
  for (let at = 0; at < text.length; ) {
    state = (state * 1103515245 + 12345) % 2 ** 31
    const length = 1 + (state % 5)
    pieces.push(text.slice(at, at + length))
    at += length
  }
  return pieces
}

const STREAM = 'event: a\r\ndata: x\r\ndata: y\r\n\r\n: comment\n\ndata: {"z":1}\r\rdata:  two\n\ndata\n\n'

t.test('every line ending (\\n, \\r\\n, \\r), comments, multi-line data and named events', async (t) => {
  t.same(decode([STREAM]), [
    { event: 'a', data: 'x\ny', singleLine: false },
    { event: undefined, data: '{"z":1}', singleLine: true },
    { event: undefined, data: ' two', singleLine: true },
    { event: undefined, data: '', singleLine: true },
  ])
})

t.test('the same events wherever the network cuts the text, \\r\\n pairs split included', async (t) => {
  const whole = decode([STREAM])
  for (let seed = 1; seed <= 500; seed++) t.same(decode(cut(STREAM, seed)), whole, `cuts of seed ${seed}`)
  t.same(decode([...STREAM]), whole, 'one character at a time')
})

t.test('a 4 MB line trickled in 7-character pieces decodes whole (a rescan per piece would take hours)', async (t) => {
  const payload = 'x'.repeat(4 * 1024 * 1024)
  const text = `data: ${payload}\n\n`
  const pieces: string[] = []
  for (let at = 0; at < text.length; at += 7) pieces.push(text.slice(at, at + 7))
  const events = decode(pieces)
  t.equal(events.length, 1)
  t.equal(events[0]?.data.length, payload.length)
})
