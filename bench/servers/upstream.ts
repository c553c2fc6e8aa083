// The bench upstream: a server speaking OpenAI's Chat Completions and Responses APIs and
// Anthropic's Messages API (bench/servers/upstream-apis.ts: the API is picked by the path) as fast
// as node:http allows, so that what is measured is the thing in front of it. Bodies are precomputed; a stream is N chunks, each
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
import { apiOf } from './upstream-apis.ts'

/** Pause after the first chunk, ms. */
const FIRST_GAP_MS = Number(process.env.BENCH_FIRST_GAP_MS ?? 2)
/**
 * Set (e.g. 503): every completion request is refused at once with this status, as a provider
 * having a bad hour does. The first target of the bench's fallback route group.
 */
const FAIL_STATUS = Number(process.env.BENCH_FAIL_STATUS ?? 0)
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
    const api = apiOf(req.url ?? '')
    if (!/"stream":\s*true/.test(body)) {
      stats.completed++
      res.writeHead(200, api.jsonHeaders)
      res.end(api.json)
      return
    }
    const tag = config.holdStreams ? (/"user":\s*"([^"]*)"/.exec(body)?.[1] ?? '') : ''
    writeStream(res, api.stream(/"include_usage":\s*true/.test(body)), tag)
  })
})
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})
process.on('SIGTERM', () => process.exit(0))
