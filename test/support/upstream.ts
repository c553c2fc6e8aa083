// A fake OpenAI / Anthropic upstream for gateway tests, on any path the gateway calls (OpenAI's
// /v1/chat/completions, /v1/responses, GET and DELETE /v1/responses/{id}, /v1/embeddings;
// Anthropic's /v1/messages). It replays the recorded exchanges in test/fixtures/recorded byte
// for byte, but in uneven network chunks (cutting through lines, `data:` prefixes and UTF-8
// characters) because that is where stream parsers break, and it can misbehave on purpose: rate
// limits, overload, hangs, resets before or during the body, stalls after some of it.
// Every request is recorded so tests can assert what the gateway sent and whether it hung up.
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises'
import { loadFixture } from './fixtures.ts'
import { embeddingsAnswer } from './upstream-embeddings.ts'

// The SSE readers moved to sse.ts; many tests import them from here.
export { openaiStreamChunks, responseStreamEvents, sseEvents } from './sse.ts'
export type { SseEvent } from './sse.ts'

interface ReplyBase {
  /** Wait this long before the first byte (status line included). */
  delayMs?: number
}

/**
 * Replay a recorded exchange: status, reason, headers and the exact body. Encoding and
 * hop-by-hop headers are dropped: the stored body is already decoded and Node frames its own.
 * With `resetAfterBytes`, the headers and that many body bytes are sent, then the connection
 * is cut (a reset mid-stream: the client sees a truncated body, not a clean end).
 */
export interface FixtureReply extends ReplyBase {
  fixture: string
  resetAfterBytes?: number
}

/**
 * A made-up answer: 429 with `retry-after`, 500, 529 overloaded, a hand-written SSE body...
 * `json` is serialised and sent as application/json; `body` is sent as is (give it a
 * content-type, e.g. text/event-stream). Chunked and cut exactly like a fixture.
 */
export interface CustomReply extends ReplyBase {
  status: number
  headers?: Record<string, string>
  json?: unknown
  body?: string
  resetAfterBytes?: number
  /** Send the headers and this many body bytes, then nothing more, holding the connection open (a stream that stalls). */
  stallAfterBytes?: number
}

/** Read the request, never answer, until the client gives up or the upstream is closed. */
export interface HangReply extends ReplyBase {
  hang: true
}

/** Read the request, then reset the connection without sending a status line. */
export interface ResetBeforeHeadersReply extends ReplyBase {
  resetBeforeHeaders: true
}

/**
 * An OpenAI embeddings answer for the request's `input` and `model` (see upstream-embeddings.ts:
 * no embeddings exchange was recorded, so the shape comes from OpenAI's OpenAPI document).
 * `dimensions` is the vector length when the request names none.
 */
export interface EmbeddingsReply extends ReplyBase {
  embeddings: true | { dimensions?: number }
  resetAfterBytes?: number
}

export type Reply = FixtureReply | CustomReply | EmbeddingsReply | HangReply | ResetBeforeHeadersReply

export interface RecordedRequest {
  method: string
  /** As sent, query string included, e.g. `/v1/chat/completions`. */
  path: string
  /** Node lower-cases the names. */
  headers: IncomingHttpHeaders
  /** `rawBody` parsed as JSON, or `rawBody` itself when it is not JSON. */
  body: unknown
  rawBody: string
  receivedAt: number
  /** The client closed the connection before the response was complete. */
  aborted: boolean
  /** When the response closed, for whatever reason. */
  closedAt?: number
}

export interface Upstream {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** For OPENAI_BASE_URL: the SDK appends `/chat/completions`, `/responses`, `/embeddings`... */
  readonly openaiBaseURL: string
  /** For ANTHROPIC_BASE_URL: the SDK appends `/v1/messages`. */
  readonly anthropicBaseURL: string
  /** Every request so far, in the order their bodies arrived (= the order replies were taken). */
  readonly requests: RecordedRequest[]
  /** Queue replies for the next requests, whatever their path. */
  enqueue(...replies: Reply[]): void
  /**
   * Queue replies for the next requests to one route, e.g. `'GET /v1/responses/{id}'` or
   * `'POST /v1/embeddings'` (`{...}` matches one path segment; the query string is ignored).
   * A matching request takes these before the general queue, which it leaves alone.
   */
  enqueueFor(route: string, ...replies: Reply[]): void
  /** Served whenever the queue is empty; `undefined` goes back to answering 500. */
  setDefault(reply: Reply | undefined): void
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>
  /** Resolves once `requests[index]` has been aborted by the client. */
  waitForAbort(index: number, timeoutMs?: number): Promise<RecordedRequest>
  /** Forget the queue, the default and the records (the `requests` array is emptied in place). */
  reset(): void
  /** Stop at once, dropping open connections, hanging ones included. */
  close(): Promise<void>
}

/**
 * The gateway environment that sends both OpenAI and Anthropic to this emulator. A test that
 * searches for a key string (leaks, the Authorization header sent upstream) passes its own keys.
 */
export function providerEnv(upstream: Upstream, keys: { openai?: string; anthropic?: string } = {}): Record<string, string> {
  return {
    OPENAI_API_KEY: keys.openai ?? 'sk-test-openai',
    OPENAI_BASE_URL: upstream.openaiBaseURL,
    ANTHROPIC_API_KEY: keys.anthropic ?? 'sk-ant-test',
    ANTHROPIC_BASE_URL: upstream.anthropicBaseURL,
  }
}

const unforwarded = new Set([
  'content-encoding',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
])

export async function startUpstream(options: { seed?: number } = {}): Promise<Upstream> {
  const rand = mulberry32(options.seed ?? 1)
  const queue: Reply[] = []
  const routed: { method: string; path: RegExp; replies: Reply[] }[] = []
  const takeRouted = (method: string, url: string): Reply | undefined => {
    const path = url.split('?')[0] ?? ''
    return routed.find((r) => r.method === method && r.path.test(path) && r.replies.length > 0)?.replies.shift()
  }
  let fallback: Reply | undefined
  const requests: RecordedRequest[] = []
  const waiters = new Set<() => void>()
  const changed = () => waiters.forEach((check) => check())
  let closing = false

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: undefined,
      rawBody: '',
      receivedAt: Date.now(),
      aborted: false,
    }
    // Fires however the response ends; it is what stops our pauses and writes early.
    const gone = new AbortController()
    let cutByUs = false
    res.on('close', () => {
      record.closedAt = Date.now()
      record.aborted = !res.writableFinished && !cutByUs && !closing
      gone.abort()
      changed()
    })

    const chunks: Buffer[] = []
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer)
    } catch {
      requests.push(record) // the client left mid-body; 'close' marks it aborted
      return changed()
    }
    record.rawBody = Buffer.concat(chunks).toString('utf8')
    record.body = parseJson(record.rawBody)
    const reply = takeRouted(record.method, record.path) ?? queue.shift() ?? fallback
    requests.push(record)
    changed()

    if (!reply) {
      return fail(res, `no reply scripted for ${record.method} ${record.path}`)
    }
    if (reply.delayMs && !(await pause(reply.delayMs, gone.signal))) return
    if ('hang' in reply) return
    if ('resetBeforeHeaders' in reply) {
      cutByUs = true
      return void socket.resetAndDestroy()
    }

    let body: string
    if ('fixture' in reply) {
      const { response } = loadFixture(reply.fixture)
      res.statusCode = response.status
      res.statusMessage = response.reason
      for (const [name, values] of Object.entries(response.headers)) {
        if (!unforwarded.has(name.toLowerCase())) res.setHeader(name, values)
      }
      body = response.body
    } else if ('embeddings' in reply) {
      res.statusCode = 200
      res.setHeader('content-type', 'application/json')
      body = JSON.stringify(embeddingsAnswer(record.body, reply.embeddings === true ? {} : reply.embeddings))
    } else {
      res.statusCode = reply.status
      if (reply.json !== undefined) res.setHeader('content-type', 'application/json')
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value)
      body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.body ?? '')
    }
    res.flushHeaders()

    const bytes = Buffer.from(body, 'utf8')
    const cutAt = reply.resetAfterBytes
    const stallAt = 'stallAfterBytes' in reply ? reply.stallAfterBytes : undefined
    const end = Math.min(cutAt ?? bytes.length, stallAt ?? bytes.length, bytes.length)
    // Small chunks are the point for SSE; a big JSON body only needs to arrive in a few reads.
    const sse = String(res.getHeader('content-type') ?? '').includes('text/event-stream')
    const maxChunk = !sse && bytes.length > 8192 ? 2048 : 120
    for (let at = 0; at < end; ) {
      const size = Math.min(end - at, 1 + Math.floor(rand() * maxChunk))
      // Waiting for the write callback means the bytes reached the kernel, so a cut that
      // follows cannot swallow them.
      if (!(await write(res, bytes.subarray(at, (at += size)), gone.signal))) return
      // A real pause, so the client's reads see the pieces separately rather than coalesced.
      if (!(await pause(Math.floor(rand() * 3), gone.signal))) return
    }
    // Stalled: the connection stays open until the client gives up or the upstream is closed.
    if (stallAt !== undefined) return
    if (cutAt === undefined) return void res.end()
    // destroy(), not resetAndDestroy(): an RST may make the client's kernel discard bytes it
    // has not handed over yet, and the test wants exactly `resetAfterBytes` delivered.
    cutByUs = true
    socket.destroy()
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Most likely an unknown fixture name: fail the test loudly rather than hang it.
      if (res.headersSent) return void req.socket.destroy()
      fail(res, `upstream emulator: ${err instanceof Error ? err.message : String(err)}`)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  function waitFor<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const poll = () => {
        const value = check()
        if (value === undefined) return
        done()
        resolve(value)
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`upstream: timed out after ${timeoutMs} ms waiting for ${what()}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(poll)
      }
      waiters.add(poll)
      poll()
    })
  }

  let closed: Promise<void> | undefined
  return {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    requests,
    enqueue: (...replies) => void queue.push(...replies),
    enqueueFor(route, ...replies) {
      const [method = '', path = ''] = route.split(' ')
      const pattern = path
        .split('/')
        .map((segment) => (/^\{[^}]*\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/')
      routed.push({ method: method.toUpperCase(), path: new RegExp(`^${pattern}$`), replies })
    },
    setDefault: (reply) => void (fallback = reply),
    waitForRequests: (n, timeoutMs = 5000) =>
      waitFor(
        () => (requests.length >= n ? requests.slice() : undefined),
        timeoutMs,
        () => `${n} request(s), got ${requests.length}`,
      ),
    waitForAbort: (index, timeoutMs = 5000) =>
      waitFor(
        () => (requests[index]?.aborted ? requests[index] : undefined),
        timeoutMs,
        () => `request #${index} to be aborted (${requests[index] ? 'not aborted' : 'not received yet'})`,
      ),
    reset() {
      queue.length = 0
      routed.length = 0
      fallback = undefined
      requests.length = 0
    },
    close() {
      closing = true
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closed
    },
  }
}

/** A 500 shaped so that both SDKs put `message` in the error they throw. */
function fail(res: ServerResponse, message: string): void {
  const body = JSON.stringify({ type: 'error', error: { type: 'upstream_emulator', message } })
  res.writeHead(500, { 'content-type': 'application/json' }).end(body)
}

/** Resolves false instead of throwing when the response went away meanwhile. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await (ms === 0 ? immediate(undefined, { signal }) : sleep(ms, undefined, { signal }))
    return true
  } catch {
    return false
  }
}

function write(res: ServerResponse, chunk: Uint8Array, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = () => resolve(false)
    signal.addEventListener('abort', onAbort, { once: true })
    res.write(chunk, (err) => {
      signal.removeEventListener('abort', onAbort)
      resolve(!err)
    })
  })
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Tiny seeded PRNG (mulberry32): the same seed gives the same chunk boundaries. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
