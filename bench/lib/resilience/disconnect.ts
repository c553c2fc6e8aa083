// 1,000 callers hang up mid-stream at once. Each upstream request must be aborted within 100 ms
// of its caller leaving, and afterwards the gateway must hold no more sockets or timers than
// before (counted inside it by bench/servers/probe.ts).
import { request, Agent } from 'node:http'
import { chatBody } from '../load.ts'
import { cpuMsOf, startBareProxy, startGateway, startOtlpSink, type Proc } from '../procs.ts'
import { keepAlive, percentile, pool, post, sleep } from './http.ts'

const STREAMS = 1_000
const now = () => performance.timeOrigin + performance.now()

export interface DisconnectCase {
  /** The gateway (telemetry on, as by default), or for reference: it with telemetry off, and the bare proxy (the floor: it only destroys the upstream request). */
  target: 'gateway' | 'gateway, telemetry off' | 'bare proxy'
  streams: number
  opened: number
  /** Upstream aborts matched to a caller, and how long after the caller left (ms). */
  aborted: number
  delay: { p50: number; p99: number; max: number }
  within100ms: number
  handles: { before: Record<string, number>; after: Record<string, number> }
  leaked: Record<string, number>
  cancelledMetric: number
  /** CPU time the gateway (or proxy) spent on the burst of disconnects, per disconnect (µs). */
  cpuUsPerDisconnect: number
}

const handles = async (gateway: Proc) => (await gateway.probe()).handles

export async function disconnectCase(upstream: Proc, log: (line: string) => void, target: DisconnectCase['target'] = 'gateway'): Promise<DisconnectCase> {
  const control = (path: string, body?: unknown) =>
    fetch(`${upstream.url}/__bench/${path}`, { method: 'POST', body: JSON.stringify(body ?? {}) }).then((r) => r.json())
  const sink = await startOtlpSink()
  const gateway =
    target === 'bare proxy'
      ? await startBareProxy(upstream.url)
      : await startGateway(
          upstream.url,
          target === 'gateway' ? { OTEL_TRACES_SAMPLER: 'always_on', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } : { OTEL_SDK_DISABLED: 'true' },
        )
  const counted = target !== 'bare proxy'
  const noHandles = async (): Promise<Record<string, number>> => ({})
  const url = `${gateway.url}/v1/chat/completions`
  try {
    // Warm-up, so pools and lazily created timers exist before the first count.
    const warm = keepAlive(32)
    await pool(500, 32, (i) => post(warm, url, chatBody(i % 2 === 0)))
    warm.destroy()
    await sleep(1500)
    const before = counted ? await handles(gateway) : await noHandles()

    await control('reset')
    await control('config', { holdStreams: true })
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity })
    const requests: Array<ReturnType<typeof request>> = []
    let opened = 0
    await Promise.all(
      Array.from({ length: STREAMS }, (_, i) => {
        const body = chatBody(true, { user: `dc-${i}` })
        return new Promise<void>((resolve) => {
          const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
            res.once('data', () => {
              opened++
              resolve()
            })
            res.on('error', () => {})
          })
          req.on('error', () => resolve())
          req.end(body)
          requests[i] = req
        })
      }),
    )
    // Every caller leaves at once; each close time is taken as its socket is destroyed.
    const leftAt = new Map<string, number>()
    const cpuBefore = cpuMsOf(gateway.child.pid)
    requests.forEach((req, i) => {
      leftAt.set(`dc-${i}`, now())
      req.destroy()
    })
    await sleep(1500)
    const cpuUsPerDisconnect = ((cpuMsOf(gateway.child.pid) - cpuBefore) * 1000) / STREAMS
    await control('config', { holdStreams: false })
    const stats = (await fetch(`${upstream.url}/__bench/stats`).then((r) => r.json())) as { aborts: Array<{ tag: string; at: number }> }
    const delays = stats.aborts.filter((a) => leftAt.has(a.tag)).map((a) => a.at - leftAt.get(a.tag)!)
    agent.destroy()

    await sleep(2000)
    const after = counted ? await handles(gateway) : await noHandles()
    const leaked: Record<string, number> = {}
    for (const [kind, count] of Object.entries(after)) if (count > (before[kind] ?? 0)) leaked[kind] = count - (before[kind] ?? 0)
    const metrics = counted ? await fetch(`${gateway.url}/metrics`).then((r) => r.text()) : ''
    const cancelled = [...metrics.matchAll(/^gen_ai_client_operation_duration_count\{[^}]*error_type="cancelled"[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0)
    const result: DisconnectCase = {
      target,
      streams: STREAMS,
      opened,
      aborted: delays.length,
      delay: { p50: percentile(delays, 0.5), p99: percentile(delays, 0.99), max: Math.max(...delays) },
      within100ms: delays.filter((d) => d <= 100).length,
      handles: { before, after },
      leaked,
      cancelledMetric: cancelled,
      cpuUsPerDisconnect,
    }
    log(`disconnect (${target}): ${opened} opened, ${delays.length} upstream aborts, max ${result.delay.max.toFixed(1)} ms, ${cpuUsPerDisconnect.toFixed(0)} µs CPU each; handles ${JSON.stringify(before)} → ${JSON.stringify(after)}`)
    return result
  } finally {
    await control('config', { holdStreams: false })
    await control('release')
    await gateway.stop()
    await sink.stop()
  }
}
