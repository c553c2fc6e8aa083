// The bench upstream: an OpenAI-compatible server as fast as node:http allows, so that what is
// measured is the thing in front of it. Bodies are precomputed; a stream is N chunks, each
// written in its own event-loop turn (flushed per chunk, as a real model's tokens are), after
// a short pause behind the first one (a model's first token comes alone too). Without that
// pause, on a 2-core machine the upstream's burst and the proxy's forwarding keep both cores
// busy, the load generator is not scheduled until the burst is over, and the time to the first
// chunk through any proxy reads as the time to the last.
//
// Run as a child process: `node bench/servers/upstream.ts` prints `{"port":N}` once listening.
// Control routes (under /__bench/) set fault injection and hold streams open, and report what
// the upstream saw, so the resilience suite can check retries and aborts from outside.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Content chunks per stream; with the role, finish and usage chunks a stream is CHUNKS + 3 events. */
const CHUNKS = Number(process.env.BENCH_STREAM_CHUNKS ?? 40)
/** Pause after the first chunk, ms. */
const FIRST_GAP_MS = Number(process.env.BENCH_FIRST_GAP_MS ?? 2)
/**
 * Set (e.g. 503): every completion request is refused at once with this status, as a provider
 * having a bad hour does. The first target of the bench's fallback route group.
 */
const FAIL_STATUS = Number(process.env.BENCH_FAIL_STATUS ?? 0)
const CREATED = 1_763_000_000
const ID = 'chatcmpl-BENCHabcdefghijklmnopqrstuvwx'
const MODEL = 'gpt-4o-mini-2024-07-18'
const USAGE = {
  prompt_tokens: 19,
  completion_tokens: CHUNKS,
  total_tokens: 19 + CHUNKS,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
}
const WORDS = 'OpenTelemetry gives every model call a trace you can follow from the caller to the upstream and back again'.split(' ')
const text = (i: number) => `${i === 0 ? '' : ' '}${WORDS[i % WORDS.length]}`

const JSON_BODY = Buffer.from(
  JSON.stringify({
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model: MODEL,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: Array.from({ length: CHUNKS }, (_, i) => text(i)).join(''), refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: USAGE,
    service_tier: 'default',
    system_fingerprint: 'fp_bench0001',
  }),
)

function chunk(delta: Record<string, unknown>, finish: string | null, withUsageField: boolean): Buffer {
  const body: Record<string, unknown> = {
    id: ID,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: MODEL,
    service_tier: 'default',
    system_fingerprint: 'fp_bench0001',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  }
  if (withUsageField) body.usage = null
  return Buffer.from(`data: ${JSON.stringify(body)}\n\n`)
}

/** The events of one stream, with and without the usage chunk (`stream_options.include_usage`). */
function streamEvents(includeUsage: boolean): Buffer[] {
  const events = [chunk({ role: 'assistant', content: '', refusal: null }, null, includeUsage)]
  for (let i = 0; i < CHUNKS; i++) events.push(chunk({ content: text(i) }, null, includeUsage))
  events.push(chunk({}, 'stop', includeUsage))
  if (includeUsage) {
    const usage = { id: ID, object: 'chat.completion.chunk', created: CREATED, model: MODEL, service_tier: 'default', system_fingerprint: 'fp_bench0001', choices: [], usage: USAGE }
    events.push(Buffer.from(`data: ${JSON.stringify(usage)}\n\n`))
  }
  events.push(Buffer.from('data: [DONE]\n\n'))
  return events
}
const STREAM = { plain: streamEvents(false), withUsage: streamEvents(true) }
const JSON_HEADERS = { 'content-type': 'application/json', 'content-length': String(JSON_BODY.length) }
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }

/** Fault injection and stream holding, set through POST /__bench/config. */
interface Config {
  /** Fraction of completion requests answered with a fault (429, 500, 503 or a reset), 0..1. */
  faultRate: number
  /** Streams send their first chunk and then wait for POST /__bench/release (or the client to go). */
  holdStreams: boolean
}
const config: Config = { faultRate: 0, holdStreams: false }

/** What the upstream saw; GET /__bench/stats. */
const stats = {
  requests: 0,
  completed: 0,
  faults: { 429: 0, 500: 0, 503: 0, reset: 0 } as Record<string, number>,
  /** Held streams whose client hung up, with when (epoch ms, sub-ms precision) and the caller's `user` tag. */
  aborts: [] as Array<{ tag: string; at: number }>,
  held: 0,
}
const held = new Set<() => void>()
const now = () => performance.timeOrigin + performance.now()

const FAULTS = ['429', '500', '503', 'reset'] as const
let faultTurn = 0

function fault(res: ServerResponse): void {
  const kind = FAULTS[faultTurn++ % FAULTS.length]!
  stats.faults[kind]!++
  if (kind === 'reset') {
    res.socket?.destroy()
    return
  }
  // A short retry-after-ms keeps the retries quick; the SDK (and our client) honour it.
  refuse(res, Number(kind), 'bench fault', { 'retry-after-ms': '5' })
}

/** An OpenAI-shaped error answer. */
function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { message: `${message} ${status}`, type: status === 429 ? 'requests' : 'server_error', param: null, code: null } })
  res.writeHead(status, { 'content-type': 'application/json', ...headers, 'content-length': String(Buffer.byteLength(body)) })
  res.end(body)
}

function writeStream(res: ServerResponse, events: Buffer[], tag: string): void {
  res.writeHead(200, SSE_HEADERS)
  let i = 0
  let closed = false
  res.on('close', () => {
    closed = true
    if (!res.writableFinished && tag) stats.aborts.push({ tag, at: now() })
  })
  const next = () => {
    if (closed) return
    if (i === events.length - 1) {
      stats.completed++
      res.end(events[i])
      return
    }
    res.write(events[i++])
    setImmediate(next)
  }
  res.write(events[i++])
  if (!config.holdStreams) return void setTimeout(next, FIRST_GAP_MS)
  stats.held++
  const release = () => {
    held.delete(release)
    stats.held--
    next()
  }
  held.add(release)
  res.on('close', () => {
    if (held.delete(release)) stats.held--
  })
}

function control(req: IncomingMessage, res: ServerResponse, body: string): void {
  const reply = (value: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(value))
  }
  if (req.url === '/__bench/config') {
    Object.assign(config, JSON.parse(body || '{}') as Partial<Config>)
    return reply(config)
  }
  if (req.url === '/__bench/release') {
    for (const release of [...held]) release()
    return reply({ released: true })
  }
  if (req.url === '/__bench/reset') {
    Object.assign(stats, { requests: 0, completed: 0, faults: { 429: 0, 500: 0, 503: 0, reset: 0 }, aborts: [], held: stats.held })
    faultTurn = 0
    return reply(stats)
  }
  return reply(stats)
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const parts: Buffer[] = []
  req.on('data', (part: Buffer) => parts.push(part))
  req.on('end', () => {
    const body = parts.length === 1 ? parts[0]!.toString() : Buffer.concat(parts).toString()
    if (req.url?.startsWith('/__bench/')) return control(req, res, body)
    stats.requests++
    if (FAIL_STATUS) return refuse(res, FAIL_STATUS, 'bench upstream refusing every request:')
    if (config.faultRate > 0 && Math.random() < config.faultRate) return fault(res)
    // Cheap tests instead of JSON.parse: every client here serialises with JSON.stringify.
    if (!/"stream":\s*true/.test(body)) {
      stats.completed++
      res.writeHead(200, JSON_HEADERS)
      res.end(JSON_BODY)
      return
    }
    const tag = config.holdStreams ? (/"user":\s*"([^"]*)"/.exec(body)?.[1] ?? '') : ''
    writeStream(res, /"include_usage":\s*true/.test(body) ? STREAM.withUsage : STREAM.plain, tag)
  })
})
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})
process.on('SIGTERM', () => process.exit(0))
