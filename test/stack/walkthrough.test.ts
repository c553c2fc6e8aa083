// The README's Docker walk-through, as far as it runs without Docker: the gateway started with the
// environment docker-compose.yml gives it answers the README's own curl commands (parsed from the
// README, key included) with the trace ids the reader is told to keep, and refuses them without
// the key. The PromQL the README tells readers to paste is run against a real Prometheus by
// test/stack/prometheus-e2e.test.ts.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { paths, readmeDockerSection, readYaml } from './helpers.ts'

interface CurlRequest {
  path: string
  headers: Record<string, string>
  body: string
}

/** The curl commands of a README section: path, -H headers and -d body (pipes dropped). */
function curlCommands(section: string): CurlRequest[] {
  const joined = section.replace(/\\\n\s*/g, ' ')
  return joined
    .split('\n')
    .filter((line) => line.startsWith('curl '))
    .map((line) => {
      const command = line.split(' | ')[0]!
      const tokens = [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!)
      const request: CurlRequest = { path: '', headers: {}, body: '' }
      for (let i = 1; i < tokens.length; i++) {
        const token = tokens[i]!
        if (token === '-H') {
          const [name, ...value] = tokens[++i]!.split(':')
          request.headers[name!.trim().toLowerCase()] = value.join(':').trim()
        } else if (token === '-d') request.body = tokens[++i]!
        else if (!token.startsWith('-')) request.path = new URL(`http://${token}`).pathname
      }
      return request
    })
}

/** The values docker-compose.yml gives the gateway, `${VAR:-default}` resolved to the default. */
function composeEnvironment(): Record<string, string> {
  const compose = readYaml(paths.compose) as { services: { gateway: { environment: Record<string, string> } } }
  return Object.fromEntries(
    Object.entries(compose.services.gateway.environment).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]),
  )
}

const requests = curlCommands(readmeDockerSection())
const composed = composeEnvironment()

const gateway = await startGateway({
  env: {
    ...composed,
    // Here, not in a container: a free port, loopback, and no collector named otel-collector.
    PORT: '0',
    HOST: '127.0.0.1',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
  },
})
t.teardown(() => gateway.stop())

t.test('the README\'s curls: chat and the agent, with the compose demo key', async (t) => {
  t.same(requests.map((r) => r.path), ['/v1/chat/completions', '/v1/agents/reasoning'], 'a chat request and an agent run')
  t.equal(composed.GATEWAY_API_KEYS, 'sk-gateway-demo')
  for (const request of requests) {
    t.equal(request.headers.authorization, `Bearer ${composed.GATEWAY_API_KEYS}`, `${request.path}: sends the key compose sets`)
    const response = await fetch(`${gateway.url}${request.path}`, { method: 'POST', headers: request.headers, body: request.body })
    const body = (await response.json()) as { trace_context?: { trace_id: string; span_id: string }; answer?: string; choices?: unknown[] }
    t.equal(response.status, 200, `${request.path}: ${JSON.stringify(body).slice(0, 300)}`)
    const traceId = response.headers.get('x-trace-id') ?? ''
    t.match(traceId, /^[0-9a-f]{32}$/, `${request.path}: x-trace-id, the id to open in Jaeger`)
    t.equal(body.trace_context?.trace_id, traceId, `${request.path}: the same id in the body`)
    t.equal(response.headers.get('link'), `<http://localhost:16686/trace/${traceId}>; rel="trace"`, `${request.path}: Link to the trace in compose's Jaeger (TRACE_UI_URL)`)
  }
  const agent = requests[1]!
  const run = (await (await fetch(`${gateway.url}${agent.path}`, { method: 'POST', headers: agent.headers, body: agent.body })).json()) as { answer: string }
  t.match(run.answer, /\b352\b/, 'the agent solves the README\'s example')
})

t.test('without the key, compose\'s gateway refuses (so the README sends it)', async (t) => {
  const request = requests[0]!
  const { authorization: _, ...headers } = request.headers
  const response = await fetch(`${gateway.url}${request.path}`, { method: 'POST', headers, body: request.body })
  t.equal(response.status, 401)
})
