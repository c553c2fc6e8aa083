// What the gateway tells others about its callers and its host.
// Providers get the gateway's own `traceparent` and nothing else of the caller's trace headers: a
// caller's `tracestate` (vendor data for its own tracing system) and `baggage` (which may carry
// user ids or tenant names) stay with the gateway, which still joins the caller's trace.
// The resource on every span and on /metrics' target_info names the runtime, not the process:
// no command line, executable path, user or pid for anyone who can scrape or read traces.
import t from 'tap'
import type { GatewayProcess } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { parsePrometheus, select } from '../support/prometheus.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { chatSpans, postChat, randomSpanId, randomTraceId, startGateways, traceparent, WAIT_MS } from './helpers.ts'

// Real gateway processes: on a loaded machine start-up alone can take minutes.
t.setTimeout(600_000)
const STARTUP_MS = 240_000

const receiver = await startOtlpReceiver()
const upstream = await startUpstream()
const [gateway] = (await startGateways([
  { timeoutMs: STARTUP_MS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...providerEnv(upstream) } },
])) as [GatewayProcess]
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([receiver.close(), upstream.close()])
})

/** Resource attributes that describe the process or host rather than the service. */
const HOST_DETAILS = [
  'process.pid',
  'process.executable.name',
  'process.executable.path',
  'process.command',
  'process.command_args',
  'process.command_line',
  'process.owner',
  'os.version',
  'host.name',
  'host.id',
]

const CALLER_TRACESTATE = 'callervendor=opaque-caller-state'
const CALLER_BAGGAGE = 'user.id=alice%40example.com,tenant=acme'

for (const [provider, model, fixture] of [
  ['OpenAI', 'gpt-3.5-turbo', 'openai-chat-text-nonstream'],
  ['Anthropic', 'claude-3-5-sonnet-20240620', 'anthropic-messages-text-nonstream'],
] as const) {
  t.test(`${provider}: the caller's trace is joined, only our traceparent goes upstream`, async (t) => {
    const traceId = randomTraceId()
    const parentId = randomSpanId()
    upstream.enqueue({ fixture })
    const answer = await postChat(
      gateway.url,
      { model, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] },
      { traceparent: traceparent(traceId, parentId), tracestate: CALLER_TRACESTATE, baggage: CALLER_BAGGAGE },
    )
    t.equal(answer.status, 200)
    t.equal(answer.headers.get('x-trace-id'), traceId, 'the answer is in the caller\'s trace')

    const sent = upstream.requests.at(-1)
    t.match(sent?.headers.traceparent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`), 'the provider gets a traceparent in that trace')
    t.not(sent?.headers.traceparent, traceparent(traceId, parentId), 'naming the gateway\'s span, not the caller\'s')
    t.equal(sent?.headers.tracestate, undefined, 'the caller\'s tracestate is not sent to the provider')
    t.equal(sent?.headers.baggage, undefined, 'nor its baggage')

    const { server } = await chatSpans(receiver, traceId)
    t.equal(server?.parentSpanId, parentId, 'the gateway\'s SERVER span is the child of the caller\'s span')
  })
}

t.test('the exported resource names the runtime, not the process or host', async (t) => {
  const answer = await postChat(gateway.url, { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] })
  const { request } = await chatSpans(receiver, answer.headers.get('x-trace-id') ?? '', { expected: 3 })
  const resource = request?.resource ?? {}
  t.equal(resource['service.name'], 'sik-llms-gateway')
  t.equal(resource['process.runtime.name'], 'nodejs', 'the runtime is kept')
  t.equal(resource['process.runtime.version'], process.versions.node)
  t.match(resource['service.instance.id'], /^[0-9a-f-]{36}$/, 'instances are told apart by service.instance.id')
  for (const key of HOST_DETAILS) t.notOk(key in resource, `no ${key} on spans`)

  const metric = await receiver.waitFor(() => receiver.latestMetric('llm.requests'), WAIT_MS)
  for (const key of HOST_DETAILS) t.notOk(key in metric.resource, `no ${key} on OTLP metrics`)
})

t.test('/metrics target_info shows no command line, executable, owner or pid', async (t) => {
  const text = await (await fetch(`${gateway.url}/metrics`)).text()
  const [info] = select(parsePrometheus(text), 'target_info')
  t.ok(info, 'target_info is there')
  t.equal(info?.labels.process_runtime_name, 'nodejs')
  for (const key of HOST_DETAILS) {
    const label = key.replace(/\./g, '_')
    t.notOk(label in (info?.labels ?? {}), `no ${label} label`)
  }
  t.notMatch(text, /src\/main\.ts|node_modules|process_pid/, 'nothing of the command line anywhere in the scrape')
})
