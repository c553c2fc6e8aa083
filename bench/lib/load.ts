// Load generation. JSON requests: autocannon (closed loop, N connections), with every response's
// latency taken from its 'response' event at sub-millisecond precision (its own histogram keeps
// whole milliseconds, too coarse for a 1 ms target). Streams: a small node:http client that
// times the first body chunk and the end of each stream, since autocannon sees only the end.
import autocannon from 'autocannon'
import { Agent, request } from 'node:http'
import { Samples, type Summary } from './stats.ts'
import { cpuMsOf } from './procs.ts'

export interface Target {
  /** e.g. http://127.0.0.1:8080 */
  url: string
  path: string
  headers: Record<string, string>
  /** The request body, JSON or streamed (default: a Chat Completions request, chatBody). */
  body?: (stream: boolean) => string
  /** What the last event of a complete stream holds (default: `data: [DONE]`, Chat Completions'). */
  streamEnd?: string
}

export interface LoadResult {
  connections: number
  /** CPU time the server under test used per request (µs), when its pid was given: robust to a noisy machine. */
  cpuUsPerRequest?: number
  /** The CPU time behind it (µs), to pool several slices. */
  cpuUs?: number
  seconds: number
  /**
   * Requests sent: answered (ok or failed with a status) or cut by the load generator at the end
   * of the load with their answer still out (the server saw them: their caller left).
   */
  sent: number
  ok: number
  failed: number
  rps: number
  latency: Summary
  /** A point pooled from slices (bench/lib/suite.ts): each slice's figures, in the raw results only. */
  slices?: SliceFigures[]
}

/** One slice of a load point: which round, where in the round's order, and what it measured. */
export interface SliceFigures {
  round: number
  position: number
  rps: number
  cpuUsPerRequest: number | undefined
}

export interface StreamResult extends LoadResult {
  /** Time to the first body chunk. */
  ttfc: Summary
  /** Streams whose body did not end with the API's last event (`data: [DONE]` for Chat Completions). */
  incomplete: number
}

const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant.' },
  { role: 'user', content: 'In two sentences: what does an LLM gateway add to each request, and why trace it?' },
]

export function chatBody(stream: boolean, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: 'gpt-4o-mini', messages: MESSAGES, ...(stream ? { stream: true } : {}), ...extra })
}

/** Measures `run` and the CPU time `pids` used meanwhile, per completed request. */
async function withCpu<T extends LoadResult>(pids: Array<number | undefined>, run: () => Promise<T>): Promise<T> {
  if (!pids.length) return run()
  const before = pids.reduce<number>((sum, pid) => sum + cpuMsOf(pid), 0)
  const result = await run()
  const used = pids.reduce<number>((sum, pid) => sum + cpuMsOf(pid), 0) - before
  return { ...result, cpuUs: used * 1000, cpuUsPerRequest: result.ok ? (used * 1000) / result.ok : NaN }
}

/** Where a load adds its latency samples, to pool them over several slices of one load point. */
export interface SampleSink {
  latency: Samples
  ttfc: Samples
}

export function jsonLoad(target: Target, connections: number, seconds: number, pids: Array<number | undefined> = [], into?: SampleSink): Promise<LoadResult> {
  return withCpu(pids, () => jsonLoadOnly(target, connections, seconds, into))
}

export function streamLoad(target: Target, connections: number, seconds: number, pids: Array<number | undefined> = [], into?: SampleSink): Promise<StreamResult> {
  return withCpu(pids, () => streamLoadOnly(target, connections, seconds, into))
}

async function jsonLoadOnly(target: Target, connections: number, seconds: number, into?: SampleSink): Promise<LoadResult> {
  const latencies = new Samples()
  let failed = 0
  const started = performance.now()
  const instance = autocannon({
    url: target.url + target.path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: (target.body ?? chatBody)(false),
    connections,
    duration: seconds,
    pipelining: 1,
    timeout: 30,
  })
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status === 200) {
      latencies.add(ms)
      into?.latency.add(ms)
    } else failed++
  })
  const result = await instance
  const elapsed = (performance.now() - started) / 1000
  failed += result.errors + result.timeouts
  // autocannon stops at the end of its duration by closing its connections, the requests then
  // out included: `sent` counts those too.
  return { connections, seconds: elapsed, sent: result.requests.sent, ok: latencies.count, failed, rps: latencies.count / elapsed, latency: latencies.summary() }
}

/** Body chunks kept from the end of a stream to find its last event in (Responses' response.completed is ~1.5 KB, at most split in two). */
const TAIL = 3

/** One stream: resolves with [ttfc, total] in ms, or rejects. */
function oneStream(agent: Agent, target: Target, body: string): Promise<[number, number, boolean]> {
  const end = target.streamEnd ?? 'data: [DONE]'
  return new Promise((resolve, reject) => {
    const started = performance.now()
    let first = 0
    const tail: Buffer[] = []
    const req = request(
      target.url + target.path,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...target.headers } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume()
          return reject(new Error(`status ${res.statusCode}`))
        }
        res.on('data', (part: Buffer) => {
          if (first === 0) first = performance.now()
          if (tail.push(part) > TAIL) tail.shift()
        })
        res.on('end', () => {
          // Complete: the last event is the API's end, and it is whole.
          const last = Buffer.concat(tail)
          const from = last.lastIndexOf('\n\n', last.length - 3)
          const complete = last.subarray(-2).toString() === '\n\n' && last.subarray(from + 2).includes(end)
          resolve([first - started, performance.now() - started, complete])
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function streamLoadOnly(target: Target, connections: number, seconds: number, into?: SampleSink): Promise<StreamResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const body = (target.body ?? chatBody)(true)
  const ttfc = new Samples()
  const total = new Samples()
  let failed = 0
  let incomplete = 0
  const started = performance.now()
  const until = started + seconds * 1000
  const worker = async () => {
    while (performance.now() < until) {
      try {
        const [first, all, complete] = await oneStream(agent, target, body)
        ttfc.add(first)
        total.add(all)
        into?.ttfc.add(first)
        into?.latency.add(all)
        if (!complete) incomplete++
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, worker))
  const elapsed = (performance.now() - started) / 1000
  agent.destroy()
  // Every worker waits for its stream to end before the next: none is cut.
  return {
    connections,
    seconds: elapsed,
    sent: total.count + failed,
    ok: total.count,
    failed,
    incomplete,
    rps: total.count / elapsed,
    latency: total.summary(),
    ttfc: ttfc.summary(),
  }
}

export interface OpenStreams {
  opened: number
  failed: number
  /** Ends every stream (they are read to the end once the upstream lets them go). */
  close(): Promise<void>
}

/** Opens `count` streams at once and resolves when each has delivered its first chunk. */
export async function openStreams(target: Target, count: number, bodyOf: (i: number) => string): Promise<OpenStreams & { ends: Promise<unknown>[]; requests: ReturnType<typeof request>[] }> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity })
  let failed = 0
  const requests: ReturnType<typeof request>[] = []
  const ends: Promise<unknown>[] = []
  const firsts = Array.from({ length: count }, (_, i) => {
    const body = bodyOf(i)
    return new Promise<void>((resolve) => {
      const req = request(
        target.url + target.path,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...target.headers } },
        (res) => {
          ends.push(new Promise((done) => {
            res.on('end', done)
            res.on('close', done)
            res.on('error', done)
          }))
          res.once('data', () => resolve())
          res.on('data', () => {})
        },
      )
      req.on('error', () => {
        failed++
        resolve()
      })
      req.end(body)
      requests.push(req)
    })
  })
  await Promise.all(firsts)
  return {
    opened: count - failed,
    failed,
    ends,
    requests,
    close: async () => {
      await Promise.all(ends)
      agent.destroy()
    },
  }
}
