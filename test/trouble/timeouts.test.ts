// SPEC §4: upstream timeouts (first byte and total) are a 504 in OpenAI's error shape; once a
// stream has started, the timeout ends it with an SSE error event of type timeout_error. Each case
// must answer long before the defaults (60 s first byte, 600 s total) would.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../support/gateway.ts'
import { sseEvents, startUpstream } from '../support/upstream.ts'
import { expectError } from '../http/error-shape.ts'
import { startStallingUpstream } from './stalling-upstream.ts'

// Gateways are real processes: on a loaded machine their start-up alone can near tap's 30 s default.
t.setTimeout(120_000)

const upstream = await startUpstream()
const stalling = await startStallingUpstream({ events: 2 })
const dir = mkdtempSync(join(tmpdir(), 'gateway-timeouts-'))
// `emu/…` reaches the emulator from the total-timeout gateway, whose OpenAI is the stalling one.
writeFileSync(join(dir, 'providers.json'), JSON.stringify({ providers: { emu: { baseURL: upstream.openaiBaseURL, models: ['slow'] } } }))

const [firstByte, total] = await Promise.all([
  startGateway({
    timeoutMs: 30_000,
    env: { OPENAI_API_KEY: 'sk-test-x', OPENAI_BASE_URL: upstream.openaiBaseURL, UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '300' },
  }),
  startGateway({
    timeoutMs: 30_000,
    env: {
      OPENAI_API_KEY: 'sk-test-x',
      OPENAI_BASE_URL: stalling.openaiBaseURL,
      GATEWAY_CONFIG: join(dir, 'providers.json'),
      UPSTREAM_TOTAL_TIMEOUT_MS: '1000',
      // The demo waits 5 × this before its first chunk (500 ms < 1 s), then a word every 100 ms:
      // its answer of some 40 words cannot finish within the total timeout.
      DEMO_TOKEN_DELAY_MS: '100',
    },
  }),
])
t.teardown(async () => {
  await Promise.all([firstByte.stop(), total.stop()])
  await Promise.all([upstream.close(), stalling.close()])
  rmSync(dir, { recursive: true, force: true })
})
t.beforeEach(() => upstream.reset())

const messages = [{ role: 'user' as const, content: 'Say something' }]
/** Far below the defaults, far above what the configured timeouts need. */
const PROMPT_MS = 5000

async function timed(url: string, body: unknown): Promise<{ response: Response; ms: number }> {
  const started = Date.now()
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { response, ms: Date.now() - started }
}

t.test('first-byte timeout: an upstream that never answers is a 504 timeout_error', async (t) => {
  upstream.setDefault({ hang: true })
  const { response, ms } = await timed(firstByte.url, { model: 'gpt-4o-mini', messages })
  await expectError(t, response, { status: 504, type: 'timeout_error' })
  t.ok(ms < PROMPT_MS, `answered after ${ms} ms, not after the default timeout`)
  await upstream.waitForAbort(0, 2000)
  t.pass('and the gateway hung up on the upstream')
})

t.test('first-byte timeout on a streaming request: a 504 JSON error, not a stream', async (t) => {
  upstream.setDefault({ hang: true })
  const { response, ms } = await timed(firstByte.url, { model: 'gpt-4o-mini', messages, stream: true })
  await expectError(t, response, { status: 504, type: 'timeout_error' })
  t.ok(ms < PROMPT_MS, `answered after ${ms} ms`)
})

t.test('an upstream slower than the first-byte timeout but sending in time afterwards is fine', async (t) => {
  upstream.setDefault({ fixture: 'openai-chat-text-nonstream', delayMs: 100 })
  const { response } = await timed(firstByte.url, { model: 'gpt-4o-mini', messages })
  t.equal(response.status, 200)
})

t.test('total timeout before the first byte: 504', async (t) => {
  upstream.setDefault({ hang: true })
  const { response, ms } = await timed(total.url, { model: 'emu/slow', messages })
  await expectError(t, response, { status: 504, type: 'timeout_error', message: /UPSTREAM_TOTAL_TIMEOUT_MS/ })
  t.ok(ms >= 900 && ms < PROMPT_MS, `answered after ${ms} ms`)
  await upstream.waitForAbort(0, 2000)
})

t.test('total timeout on a stream that started then stalled: an SSE error event, no [DONE]', async (t) => {
  const started = Date.now()
  const { response } = await timed(total.url, { model: 'gpt-4o-mini', messages, stream: true })
  t.equal(response.status, 200, 'the stream had started')
  const text = await response.text()
  const elapsed = Date.now() - started
  const events = sseEvents(text)
  t.ok(events.length >= 2, 'the chunks that arrived were forwarded')
  t.notOk(events.some((e) => e.data === '[DONE]'), 'no [DONE]')
  const last = JSON.parse(events.at(-1)!.data) as { error?: { type: string; message: string }; trace_context?: { trace_id: string } }
  t.equal(last.error?.type, 'timeout_error')
  t.equal(last.trace_context?.trace_id, response.headers.get('x-trace-id'))
  t.ok(elapsed >= 900 && elapsed < PROMPT_MS, `ended after ${elapsed} ms`)
  const index = stalling.requests.length - 1
  await stalling.waitForAbort(index, 2000)
  t.pass('the stalled upstream request was abandoned')
})

t.test('demo provider slower than the total timeout: the stream ends with a timeout_error event', async (t) => {
  const started = Date.now()
  const response = await fetch(`${total.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-chat', messages, stream: true }),
  })
  t.equal(response.status, 200)
  const text = await response.text()
  const ms = Date.now() - started
  const events = sseEvents(text)
  t.notOk(events.some((e) => e.data === '[DONE]'), 'no [DONE]')
  const contentChunks = events.slice(0, -1).map((e) => JSON.parse(e.data) as { choices: Array<{ delta: { content?: string } }> })
  t.ok(contentChunks.some((c) => c.choices[0]?.delta.content), 'some words arrived before the timeout')
  const last = JSON.parse(events.at(-1)!.data) as { error?: { type: string }; trace_context?: { trace_id: string } }
  t.equal(last.error?.type, 'timeout_error')
  t.match(last.trace_context?.trace_id, /^[0-9a-f]{32}$/)
  t.ok(ms < PROMPT_MS, `ended after ${ms} ms`)
})

t.test('the gateway keeps serving after the timeouts', async (t) => {
  const response = await fetch(`${total.url}/health`)
  t.equal(response.status, 200)
  upstream.setDefault({ fixture: 'openai-chat-text-nonstream' })
  const { response: ok } = await timed(firstByte.url, { model: 'gpt-4o-mini', messages })
  t.equal(ok.status, 200)
})
