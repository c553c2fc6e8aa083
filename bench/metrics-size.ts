// How big /metrics grows, and what a scrape costs, when callers invent label values:
// `node bench/metrics-size.ts [models=1000] [batches=100]`. Starts the gateway with OpenAI sent to
// the upstream emulator, sends one chat request for each of `models` distinct unknown-but-routable
// model names (`gpt-x-<n>`, answered by the emulator), then `batches` evaluation batches of 10
// evaluations, each with its own name and three criteria of its own; prints the /metrics size, the
// median time of five scrapes and of a /health sent right behind each, and the gateway's CPU time
// per scrape over 20 (from /proc, so a busy machine slows the wall times but not this one).
import { readFileSync } from 'node:fs'
import { median } from './lib/stats.ts'
import { startGateway } from '../test/support/gateway.ts'
import { providerEnv, startUpstream } from '../test/support/upstream.ts'

const models = Number(process.argv[2] ?? 1000)
const batches = Number(process.argv[3] ?? 100)

const upstream = await startUpstream()
upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
const gateway = await startGateway({ timeoutMs: 60_000, env: providerEnv(upstream) })

async function post(path: string, body: unknown): Promise<number> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  await response.arrayBuffer()
  return response.status
}

async function scrape(): Promise<{ bytes: number; ms: number; healthMs: number }> {
  const started = performance.now()
  const metrics = fetch(`${gateway.url}/metrics`).then((r) => r.arrayBuffer())
  // /health sent right behind the scrape waits for the event loop the scrape holds.
  const health = fetch(`${gateway.url}/health`).then(async (r) => {
    await r.arrayBuffer()
    return performance.now() - started
  })
  const [body, healthMs] = await Promise.all([metrics, health])
  return { bytes: body.byteLength, ms: performance.now() - started, healthMs }
}

/** User + system CPU time of the gateway process so far, in ms (Linux). */
function cpuMs(): number {
  const fields = readFileSync(`/proc/${gateway.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime, stime in clock ticks of 1/100 s
}

async function report(what: string): Promise<void> {
  const runs = []
  for (let i = 0; i < 5; i++) runs.push(await scrape())
  const before = cpuMs()
  for (let i = 0; i < 20; i++) await (await fetch(`${gateway.url}/metrics`)).arrayBuffer()
  const cpuPerScrape = (cpuMs() - before) / 20
  console.log(
    `${what}: /metrics ${(runs[0]!.bytes / 1024).toFixed(0)} KiB, scrape ${median(runs.map((r) => r.ms)).toFixed(1)} ms ` +
      `(median of 5), /health behind it ${median(runs.map((r) => r.healthMs)).toFixed(1)} ms, ` +
      `gateway CPU ${cpuPerScrape.toFixed(1)} ms per scrape`,
  )
}

try {
  await report('idle')
  const hi = [{ role: 'user', content: 'hi' }]
  for (let n = 0; n < models; n += 20) {
    const statuses = await Promise.all(
      Array.from({ length: Math.min(20, models - n) }, (_, i) => post('/v1/chat/completions', { model: `gpt-x-${n + i}`, messages: hi })),
    )
    if (statuses.some((s) => s !== 200)) throw new Error(`chat answered ${statuses.join(',')}`)
  }
  await report(`after ${models} distinct model names`)
  const ids = { trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' }
  for (let b = 0; b < batches; b++) {
    const batch = Array.from({ length: 10 }, (_, i) => ({
      ...ids,
      name: `eval-${b}-${i}`,
      scores: { [`accuracy_${b}_${i}`]: 0.5, [`clarity_${b}_${i}`]: 3, [`tone_${b}_${i}`]: 0.9 },
    }))
    const status = await post('/v1/evaluations', batch)
    if (status !== 200) throw new Error(`evaluations answered ${status}`)
  }
  await report(`and ${batches} evaluation batches (${batches * 10} names, ${batches * 30} criteria)`)
} finally {
  await gateway.stop()
  await upstream.close()
}
