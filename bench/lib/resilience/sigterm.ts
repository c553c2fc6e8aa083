// SIGTERM while the gateway is under load: it drains, flushes and exits, and every request that
// got a 200 (a whole stream, for streams) has its spans at the collector.
import { chatBody } from '../load.ts'
import { spawnServer, startGateway, type Proc } from '../procs.ts'
import { completeStream, keepAlive, post, sleep } from './http.ts'

const CONCURRENCY = 32
const LOAD_BEFORE_MS = 3000

export interface SigtermCase {
  sent: number
  ok: number
  /** Refused or reset once the gateway stopped accepting: expected, not lost. */
  refused: number
  other: Record<string, number>
  missing: number
  exitCode: number | null
  exitMs: number
  spans: number
}

export async function sigtermCase(upstream: Proc, log: (line: string) => void): Promise<SigtermCase> {
  const receiver = await spawnServer({ name: 'otlp receiver', args: ['bench/servers/otlp-receiver.ts'], readyPath: '/' })
  const { otlp } = (await fetch(receiver.url).then((r) => r.json())) as { otlp: string }
  const gateway = await startGateway(upstream.url, {
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
    SHUTDOWN_TIMEOUT_MS: '10000',
  })
  const agent = keepAlive(CONCURRENCY)
  const url = `${gateway.url}/v1/chat/completions`
  const traceIds: string[] = []
  let sent = 0
  let refused = 0
  const other: Record<string, number> = {}
  let stopping = false
  try {
    const worker = async (w: number) => {
      for (let i = 0; ; i++) {
        const stream = (w + i) % 4 === 0
        sent++
        const answer = await post(agent, url, chatBody(stream))
        if (answer.status === 200 && (!stream || completeStream(answer.body))) traceIds.push(String(answer.headers['x-trace-id']))
        else if (answer.status === 0 || answer.status === 503) refused++
        else other[answer.status] = (other[answer.status] ?? 0) + 1
        if (stopping && (answer.status === 0 || answer.status === 503)) return
      }
    }
    const workers = Array.from({ length: CONCURRENCY }, (_, w) => worker(w))
    await sleep(LOAD_BEFORE_MS)
    stopping = true
    const signalled = performance.now()
    const exited = gateway.stop('SIGTERM')
    await Promise.all(workers)
    const exitCode = await exited
    const exitMs = performance.now() - signalled
    // The gateway flushed before exiting; give the receiver a moment to decode the last posts.
    await sleep(500)
    const missing = (await fetch(receiver.url, { method: 'POST', body: JSON.stringify(traceIds) }).then((r) => r.json())) as string[]
    const { spans } = (await fetch(receiver.url).then((r) => r.json())) as { spans: number }
    const result: SigtermCase = { sent, ok: traceIds.length, refused, other, missing: missing.length, exitCode, exitMs, spans }
    log(`sigterm: ${result.ok} answered 200, ${refused} refused after the signal, missing spans for ${result.missing}; exit ${exitCode} after ${exitMs.toFixed(0)} ms`)
    return result
  } finally {
    agent.destroy()
    await gateway.stop()
    await receiver.stop()
  }
}
