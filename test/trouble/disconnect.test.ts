// SPEC §4: a caller that goes away mid-request gets the upstream request aborted at once (no
// tokens wasted), the request counted as a cancelled failure, and the gateway goes on serving.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { metricSum, scrapeMetrics } from '../support/prometheus.ts'
import { FIRST_CONTENT, readUntil } from '../support/read-until.ts'
import { startUpstream } from '../support/upstream.ts'
import { startStallingUpstream } from './stalling-upstream.ts'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Gateways are real processes: on a loaded machine their start-up alone can near tap's 30 s default.
t.setTimeout(120_000)

const upstream = await startUpstream()
const stalling = await startStallingUpstream({ events: 2 })
const dir = mkdtempSync(join(tmpdir(), 'gateway-disconnect-'))
// OpenAI is the emulator; `stall/…` is the upstream that streams two chunks and then stalls.
writeFileSync(join(dir, 'providers.json'), JSON.stringify({ providers: { stall: { baseURL: stalling.openaiBaseURL, models: ['m'] } } }))
const gateway = await startGateway({
  timeoutMs: 30_000,
  env: {
    OPENAI_API_KEY: 'sk-test-x',
    OPENAI_BASE_URL: upstream.openaiBaseURL,
    GATEWAY_CONFIG: join(dir, 'providers.json'),
    DEMO_TOKEN_DELAY_MS: '50',
  },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([upstream.close(), stalling.close()])
  rmSync(dir, { recursive: true, force: true })
})
t.beforeEach(() => upstream.reset())

const messages = [{ role: 'user' as const, content: 'Write a long story' }]
/** "Promptly": the abort must reach the upstream well within this, not after some timeout. */
const PROMPTLY_MS = 2000

function start(body: unknown, controller: AbortController): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: controller.signal,
  })
}

/** The requests of `provider` counted as cancelled failures so far (error.type is on the GenAI histogram). */
async function failedCount(provider: string): Promise<number> {
  const labels = { gen_ai_provider_name: provider, error_type: 'cancelled' }
  return metricSum(await scrapeMetrics(gateway.url), 'gen_ai_client_operation_duration_count', labels)
}

t.test('mid-stream disconnect: the streaming upstream request is aborted at once', async (t) => {
  const before = await failedCount('stall')
  const controller = new AbortController()
  const response = await start({ model: 'stall/m', messages, stream: true }, controller)
  t.equal(response.status, 200)
  const { text } = await readUntil(response, FIRST_CONTENT)
  t.match(text, /data: \{/, 'the stream had started')
  const index = stalling.requests.length - 1
  t.notOk(stalling.requests[index]?.aborted, 'the upstream request is open while the caller reads')
  const abortedAt = Date.now()
  controller.abort()
  const record = await stalling.waitForAbort(index, PROMPTLY_MS)
  t.ok(record.closedAt! - abortedAt < PROMPTLY_MS, `upstream closed ${record.closedAt! - abortedAt} ms after the caller left`)
  t.equal(await failedCount('stall'), before + 1, 'counted as a cancelled failure, not a success')
})

t.test('streaming request, caller leaves before the first byte: upstream aborted', async (t) => {
  upstream.setDefault({ hang: true })
  const controller = new AbortController()
  const pending = start({ model: 'gpt-4o-mini', messages, stream: true }, controller).catch((e: unknown) => e)
  await upstream.waitForRequests(1)
  const abortedAt = Date.now()
  controller.abort()
  t.ok((await pending) instanceof Error, 'the caller gave up')
  const record = await upstream.waitForAbort(0, PROMPTLY_MS)
  t.ok(record.closedAt! - abortedAt < PROMPTLY_MS)
  t.equal(upstream.requests.length, 1, 'and no retry was sent for a caller that is gone')
})

t.test('non-streaming request, caller leaves while the upstream thinks: upstream aborted', async (t) => {
  const before = await failedCount('openai')
  upstream.setDefault({ hang: true })
  const controller = new AbortController()
  const pending = start({ model: 'gpt-4o-mini', messages }, controller).catch((e: unknown) => e)
  await upstream.waitForRequests(1)
  const abortedAt = Date.now()
  controller.abort()
  t.ok((await pending) instanceof Error, 'the caller gave up')
  const record = await upstream.waitForAbort(0, PROMPTLY_MS)
  t.ok(record.closedAt! - abortedAt < PROMPTLY_MS, `upstream closed ${record.closedAt! - abortedAt} ms after the caller left`)
  // The metric is recorded when the gateway notices; give it a moment.
  let after = before
  for (let i = 0; i < 20 && after === before; i++) {
    await new Promise((r) => setTimeout(r, 50))
    after = await failedCount('openai')
  }
  t.equal(after, before + 1, 'counted as a cancelled failure')
})

t.test('demo stream, caller leaves after the first words: counted as cancelled', async (t) => {
  const before = await failedCount('demo')
  const controller = new AbortController()
  const response = await start({ model: 'demo-chat', messages, stream: true }, controller)
  await readUntil(response, FIRST_CONTENT)
  controller.abort()
  let after = before
  for (let i = 0; i < 40 && after === before; i++) {
    await new Promise((r) => setTimeout(r, 50))
    after = await failedCount('demo')
  }
  t.equal(after, before + 1)
})

t.test('the gateway goes on serving after the disconnects', async (t) => {
  upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
  const completion = await gateway.client().chat.completions.create({ model: 'gpt-4o-mini', messages })
  t.match(completion.choices[0]?.message.content, /opentelemetry/)
  const stream = await gateway.client().chat.completions.create({ model: 'demo-chat', messages, stream: true })
  let text = ''
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
  t.match(text, /offline demo provider/)
  t.equal(gateway.child.exitCode, null, 'the process is alive')
  t.notOk(
    gateway.logs().some((l) => l.msg === 'unhandled error'),
    'no disconnect surfaced as an unhandled error',
  )
})
