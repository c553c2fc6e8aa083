// The README's `my-otel.mjs` works as printed: preloaded with `--import`, the gateway's spans and
// metrics reach the operator's collector under the operator's service name, and what the
// operator's batch processor and metric reader still hold at SIGTERM is flushed before exit.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { GatewayProcess } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { postChat, startGateways, WAIT_MS } from './helpers.ts'

// Real gateway processes: on a loaded machine start-up alone can take minutes.
t.setTimeout(600_000)
const STARTUP_MS = 240_000

const example = fileURLToPath(new URL('./fixtures/my-otel.mjs', import.meta.url))
const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8')

t.test('the fixture is the README\'s example, verbatim', async (t) => {
  const printed = /```js\n(\/\/ my-otel\.mjs:[\s\S]*?)```/.exec(readme)?.[1]
  t.ok(printed, 'the README prints my-otel.mjs')
  t.equal(printed, readFileSync(example, 'utf8'))
})

t.test('preloaded as the README says: spans and metrics reach the collector, flushed at exit', async (t) => {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  const [gateway] = (await startGateways([{ timeoutMs: STARTUP_MS, nodeArgs: ['--import', example], env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } }])) as [GatewayProcess]
  t.teardown(() => gateway.stop('SIGKILL'))
  const listening = gateway.logs().find((l) => l.msg === 'listening')
  t.same(listening?.signals, { traces: 'preloaded TracerProvider', metrics: 'preloaded MeterProvider' }, 'the gateway uses both')

  const answer = await postChat(gateway.url, { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] })
  t.equal(answer.status, 200)
  const traceId = answer.headers.get('x-trace-id') ?? ''
  // The example's batch waits 5 s and its metric reader 60 s: only the exit flush sends them now.
  t.equal(await gateway.stop('SIGTERM'), 0, 'exit 0')

  const spans = await receiver.waitForSpans((s) => s.traceId === traceId, 3, WAIT_MS)
  t.same(
    spans.map((s) => s.name).sort(),
    ['POST /v1/chat/completions', 'llm.demo.chat', 'llm.request'],
    'the HTTP SERVER span and the gateway\'s own spans, in one trace',
  )
  t.same([...new Set(spans.map((s) => s.resource['service.name']))], ['llm-gateway'], 'under the example\'s service name')
  const metric = await receiver.waitFor(() => receiver.latestMetric('llm.requests'), WAIT_MS)
  t.equal(metric.resource['service.name'], 'llm-gateway', 'llm metrics through the example\'s reader')
  t.same(receiver.spans.filter((s) => s.name === 'probe'), [], 'finding the preloaded provider made no span')
})
