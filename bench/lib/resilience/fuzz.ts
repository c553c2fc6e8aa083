// Hostile input, generated with fast-check (seeded, so a failure can be replayed): malformed and
// hostile bodies, SSE-breaking message content, malformed headers and raw HTTP, and hostile SSE
// from the upstream. Callers' input must never be a 5xx; an upstream's garbage may be a 502 or
// an in-stream error event but never a 500; the gateway must not crash, and every stream it
// writes must stay well-formed SSE.
import fc from 'fast-check'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { startGateway, startOtlpSink } from '../procs.ts'
import { keepAlive, pool, post } from './http.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_124)
const CONCURRENCY = 16

export interface FuzzFamily {
  name: string
  cases: number
  /** Answers by status class (e.g. {"2xx": 10, "4xx": 90}); "closed" = no status line. */
  statuses: Record<string, number>
  /** Violations of the family's rule (5xx from a caller's input, 500 from the upstream's, broken SSE). */
  violations: number
  examples: string[]
}

export interface FuzzResult {
  seed: number
  families: FuzzFamily[]
  total: number
  crashed: boolean
  errorLogs: number
}

// --- the upstream: echoes the caller's last message back (JSON or SSE), or plays hostile SSE ---

const hostile = new Map<string, Buffer[]>()

function echoText(body: string): { text: string; stream: boolean; tag: string } {
  try {
    const json = JSON.parse(body) as { messages?: Array<{ content?: unknown }>; stream?: boolean; user?: string }
    const content = json.messages?.at(-1)?.content
    return { text: typeof content === 'string' ? content : 'ok', stream: json.stream === true, tag: json.user ?? '' }
  } catch {
    return { text: 'ok', stream: false, tag: '' }
  }
}

const chunk = (delta: unknown, finish: string | null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-fuzz', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }], usage: null })}\n\n`

function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  const parts: Buffer[] = []
  req.on('data', (p: Buffer) => parts.push(p))
  req.on('end', () => {
    const { text, stream, tag } = echoText(Buffer.concat(parts).toString())
    const pieces = hostile.get(tag)
    if (pieces) {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let i = 0
      const next = () => {
        if (i < pieces.length) {
          res.write(pieces[i++])
          setImmediate(next)
        } else if (tag.endsWith(':cut')) res.destroy()
        else res.end()
      }
      return next()
    }
    if (!stream) {
      const body = JSON.stringify({ id: 'chatcmpl-fuzz', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })
      res.writeHead(200, { 'content-type': 'application/json' })
      return res.end(body)
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    // The text in three deltas, so SSE-breaking content is cut across chunks too.
    const third = Math.ceil(text.length / 3)
    res.write(chunk({ role: 'assistant', content: '' }, null))
    for (let i = 0; i < text.length; i += third || 1) res.write(chunk({ content: text.slice(i, i + (third || 1)) }, null))
    res.write(chunk({}, 'stop'))
    res.end('data: [DONE]\n\n')
  })
}

// --- what the gateway writes back ---

/** The data of each event the gateway wrote; throws if the stream is not well-formed SSE of JSON. */
function framesOf(body: string): unknown[] {
  if (!body.endsWith('\n\n')) throw new Error('the stream does not end with a blank line')
  const frames: unknown[] = []
  for (const event of body.slice(0, -2).split('\n\n')) {
    if (!event.startsWith('data: ') || event.includes('\n')) throw new Error(`not a single data line: ${JSON.stringify(event.slice(0, 80))}`)
    const data = event.slice(6)
    frames.push(data === '[DONE]' ? '[DONE]' : JSON.parse(data))
  }
  return frames
}

function contentOf(frames: unknown[]): string {
  return frames
    .map((f) => ((f as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ?? ''))
    .join('')
}

const statusClass = (status: number) => (status === 0 ? 'closed' : `${Math.floor(status / 100)}xx`)

// --- generators ---

const valid = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }
/** Strings meant to break framing: blank lines, data:/event: prefixes, [DONE], CR, U+2028, NUL, lone surrogates. */
const sseBreaking = fc.oneof(
  fc.constantFrom('\n\ndata: [DONE]\n\n', 'data: {"x":1}\n\n', '\r\n\r\nevent: error\r\n', '\r', '\u2028\u2029', '\u0000', '\ud800', '\udfff', ':\n\n', 'data:', '}}]]"'),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.constantFrom('\n', '\r', 'data: ', '[DONE]', '"', '\\', '\u2028', '\ud83d', '😀', ' ', 'x'), { maxLength: 40 }).map((a) => a.join('')),
)

const rawBodies = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.json({ maxDepth: 4 }),
  fc.nat({ max: 400 }).map((n) => JSON.stringify(valid).slice(0, n)),
  fc.integer({ min: 100, max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 100, max: 2000 }).map((n) => `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","x":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}]}`),
)

const hostileRequests = fc
  .record({
    model: fc.oneof(fc.constant('gpt-4o-mini'), fc.constant('openai/gpt-4o-mini'), fc.anything(), fc.string({ maxLength: 300 })),
    messages: fc.oneof(
      fc.constant(valid.messages),
      fc.anything(),
      fc.array(fc.record({ role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool', 'developer'), fc.anything()), content: fc.oneof(fc.string(), fc.anything()) }, { requiredKeys: [] }), { maxLength: 4 }),
    ),
    stream: fc.oneof(fc.boolean(), fc.anything()),
    stream_options: fc.oneof(fc.constant(undefined), fc.anything()),
    temperature: fc.oneof(fc.double(), fc.anything()),
    max_tokens: fc.oneof(fc.integer(), fc.double(), fc.anything()),
    n: fc.oneof(fc.integer(), fc.anything()),
    tools: fc.oneof(fc.constant(undefined), fc.anything()),
    extra: fc.dictionary(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'prototype')), fc.anything(), { maxKeys: 3 }),
  }, { requiredKeys: [] })
  .map(({ extra, ...rest }) => {
    const text = JSON.stringify(rest)
    // `__proto__` as a JSON key (not an own property of the generated object) is the hostile case.
    const extraText = Object.entries(extra ?? {}).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')
    return extraText ? `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${extraText}}` : text
  })

const HEADER_NAME = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/)
const rawRequests = fc
  .record({
    contentType: fc.oneof(fc.constantFrom('application/json', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json;;;', ''), fc.string({ unit: 'binary-ascii', maxLength: 40 })),
    encoding: fc.constantFrom(undefined, 'gzip', 'deflate', 'br', 'identity', 'x-junk'),
    lengthDelta: fc.constantFrom(0, 0, 0, -5, 5, 1_000_000),
    chunked: fc.boolean(),
    extra: fc.array(fc.tuple(HEADER_NAME, fc.string({ unit: 'binary-ascii', maxLength: 60 })), { maxLength: 4 }),
    path: fc.constantFrom('/v1/chat/completions', '/v1/chat/completions?x=%zz', '/v1/chat/completions/../models', '//v1/chat/completions', '/v1/chat/completions#frag'),
    body: fc.oneof(fc.constant(JSON.stringify(valid)), rawBodies),
  })

/** Hostile SSE from the upstream: valid chunks mixed with broken JSON, error events, odd line ends, cut anywhere. */
const sseLine = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }).map((s) => chunk({ content: s }, null)) },
  fc.constant(chunk({}, 'stop')),
  fc.constant('data: [DONE]\n\n'),
  fc.constant('data: {"id":"x","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\n'),
  fc.string({ maxLength: 60 }).map((s) => `data: ${s}\n\n`),
  fc.constant('event: error\ndata: {"error":{"message":"upstream exploded"}}\n\n'),
  fc.constant('data: {"error":{"message":"quota"}}\n\n'),
  fc.constant(': keep-alive comment\n\n'),
  fc.constant('data: {"choices":null}\n\n'),
  fc.constant('data: {"choices":[{"delta":null,"finish_reason":7}]}\n\n'),
  fc.constant('data: 12\n\n'),
  fc.constant('data: null\n\n'),
  fc.string({ maxLength: 30 }).map((s) => `data: {"choices":[{"index":0,"delta":{"content":${JSON.stringify(s)}}}]}\r\n\r\n`),
  fc.constant('data: {"choices":[{"index":0,\ndata: "delta":{"content":"two lines"}}]}\n\n'),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')),
)
const hostileSse = fc.record({
  lines: fc.array(sseLine, { minLength: 1, maxLength: 12 }),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
  cut: fc.boolean(),
})

// --- the run ---

/** `count` values of `arbitrary`, drawn in one seeded run (so sizes range from small to large). */
function draw<T>(arbitrary: fc.Arbitrary<T>, count: number, family: number): T[] {
  return fc.sample(arbitrary, { seed: SEED + family, numRuns: count })
}

export async function fuzzCase(log: (line: string) => void, scale = 1): Promise<FuzzResult> {
  const upstream = createServer(upstreamHandler)
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  // Telemetry on: hostile values reach span attributes and metric labels too.
  const sink = await startOtlpSink()
  const gateway = await startGateway(upstreamUrl, { UPSTREAM_MAX_RETRIES: '0', OTEL_TRACES_SAMPLER: 'always_on', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url })
  const agent = keepAlive(CONCURRENCY)
  const url = `${gateway.url}/v1/chat/completions`
  const n = (count: number) => Math.max(10, Math.round(count * scale))
  const families: FuzzFamily[] = []
  const family = (name: string): FuzzFamily => {
    const f = { name, cases: 0, statuses: {}, violations: 0, examples: [] }
    families.push(f)
    return f
  }
  const record = (f: FuzzFamily, status: number, violation: string | undefined) => {
    f.cases++
    const key = statusClass(status)
    f.statuses[key] = (f.statuses[key] ?? 0) + 1
    if (violation) {
      f.violations++
      if (f.examples.length < 3) f.examples.push(violation.slice(0, 200))
    }
  }
  try {
    // 1. Malformed bodies: never a 5xx.
    const bodies = family('malformed bodies (random text, binary, JSON of any shape, truncated, nested 100–5,000 deep)')
    const bodySamples = draw(rawBodies, n(3000), 1)
    await pool(bodySamples.length, CONCURRENCY, async (i) => {
      const body = bodySamples[i]
      const answer = await post(agent, url, body!)
      record(bodies, answer.status, answer.status >= 500 || answer.status === 0 ? `${answer.status} for ${JSON.stringify(body).slice(0, 120)}` : undefined)
    })
    // 2. Hostile field values, `__proto__`/`constructor` keys: never a 5xx.
    const fields = family('hostile field values and keys (any type in any field, __proto__, constructor)')
    const fieldSamples = draw(hostileRequests, n(3000), 2)
    await pool(fieldSamples.length, CONCURRENCY, async (i) => {
      const body = fieldSamples[i]
      const answer = await post(agent, url, body!)
      record(fields, answer.status, answer.status >= 500 || answer.status === 0 ? `${answer.status} for ${body!.slice(0, 120)}: ${answer.body.slice(0, 80)}` : undefined)
    })
    // 3. SSE-breaking content, echoed back by the upstream: the caller gets exactly its text, in well-formed frames.
    const content = family('SSE-breaking message content, echoed back (streamed and not)')
    const texts = draw(sseBreaking, n(1500), 3)
    await pool(texts.length, CONCURRENCY, async (i) => {
      const text = texts[i]
      const stream = i % 2 === 0
      const answer = await post(agent, url, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], stream }))
      let violation: string | undefined
      if (answer.status !== 200) violation = `${answer.status}: ${answer.body.slice(0, 100)}`
      else {
        try {
          const got = stream ? contentOf(framesOf(answer.body)) : (JSON.parse(answer.body) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content
          // JSON escapes all the way (lone surrogates included), so the text must come back exactly.
          const sent = text!
          if (got !== sent) violation = `content changed: ${JSON.stringify(sent).slice(0, 60)} → ${JSON.stringify(got).slice(0, 60)}`
        } catch (error) {
          violation = `broken answer: ${(error as Error).message}`
        }
      }
      record(content, answer.status, violation)
    })
    // 4. Raw HTTP with hostile headers: content types, encodings, wrong lengths, chunking, junk headers, odd paths.
    const headers = family('hostile headers and raw HTTP (content-type, content-encoding, wrong content-length, chunked, junk headers, odd paths)')
    const rawSamples = draw(rawRequests, n(1500), 4)
    await pool(rawSamples.length, CONCURRENCY, async (i) => {
      const spec = rawSamples[i]
      const status = await rawHttp(gateway.port, spec!)
      record(headers, status, status >= 500 ? `${status} for ${JSON.stringify(spec).slice(0, 160)}` : undefined)
    })
    // 5. Hostile SSE from the upstream: never a 500, and what the caller reads is still well-formed SSE.
    const sse = family('hostile SSE from the upstream (broken JSON, error events, CR/CRLF, multi-line data, cuts anywhere, resets)')
    const sseSamples = draw(hostileSse, n(2000), 5)
    await pool(sseSamples.length, CONCURRENCY, async (i) => {
      const spec = sseSamples[i]
      const text = Buffer.from(spec!.lines.join(''), 'latin1')
      const points = [...new Set(spec!.cuts.map((c) => c % Math.max(1, text.length)))].sort((a, b) => a - b)
      const pieces: Buffer[] = []
      let at = 0
      for (const p of [...points, text.length]) {
        if (p > at) pieces.push(text.subarray(at, p))
        at = p
      }
      const tag = `sse-${i}${spec!.cut ? ':cut' : ''}`
      hostile.set(tag, pieces)
      const answer = await post(agent, url, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true, user: tag }))
      hostile.delete(tag)
      let violation: string | undefined
      if (answer.status === 500 || answer.status === 0) violation = `${answer.status}: ${answer.body.slice(0, 100)}`
      else if (answer.status === 200) {
        try {
          const frames = framesOf(answer.body)
          const last = frames.at(-1)
          if (last !== '[DONE]' && !(last as { error?: unknown })?.error) violation = 'the stream ends with neither [DONE] nor an error event'
        } catch (error) {
          violation = `broken SSE to the caller: ${(error as Error).message}`
        }
      }
      record(sse, answer.status, violation)
    })
    const health = await fetch(`${gateway.url}/health`).then((r) => r.status, () => 0)
    const crashed = gateway.child.exitCode !== null || health !== 200
    const errorLogs = gateway.output.filter((line) => /"level":(50|60)/.test(line)).length
    const total = families.reduce((s, f) => s + f.cases, 0)
    log(`fuzz: ${total} cases, violations ${families.map((f) => f.violations).join('/')}, crashed ${crashed}, error logs ${errorLogs}`)
    return { seed: SEED, families, total, crashed, errorLogs }
  } finally {
    agent.destroy()
    await gateway.stop()
    await sink.stop()
    upstream.closeAllConnections()
    await new Promise((resolve) => upstream.close(resolve))
  }
}

/** One request written by hand on a socket; resolves with the status (0: closed without one). */
function rawHttp(port: number, spec: { contentType: string; encoding: string | undefined; lengthDelta: number; chunked: boolean; extra: Array<[string, string]>; path: string; body: string }): Promise<number> {
  return new Promise((resolve) => {
    const body = Buffer.from(spec.body)
    const lines = [`POST ${spec.path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, `Content-Type: ${spec.contentType}`, 'Connection: close']
    if (spec.encoding) lines.push(`Content-Encoding: ${spec.encoding}`)
    for (const [name, value] of spec.extra) lines.push(`${name}: ${value}`)
    let payload: Buffer
    if (spec.chunked) {
      lines.push('Transfer-Encoding: chunked')
      payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
    } else {
      lines.push(`Content-Length: ${Math.max(0, body.length + spec.lengthDelta)}`)
      payload = body
    }
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    const timer = setTimeout(() => socket.destroy(), 5000)
    socket.setEncoding('latin1')
    socket.on('data', (data: string) => (answer += data))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0))
    })
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]))
    // A body shorter than announced: the server waits for the rest; end our side so it cannot wait forever.
    if (spec.lengthDelta > 0 && !spec.chunked) setTimeout(() => socket.end(), 200)
  })
}
