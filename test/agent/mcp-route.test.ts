// MCP tools through the agent route, end to end: the gateway starts a real stdio MCP server and
// connects to a real Streamable HTTP one from GATEWAY_TOOLS_CONFIG, shows their tools in
// GET /v1/agents/tools, and a run calls them like any other tool — traced, and failing softly.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startGateway } from '../support/gateway.ts'
import { startOtlpReceiver } from '../support/otlp-receiver.ts'
import { startUpstream } from '../support/upstream.ts'
import { startHttpMcpServer } from './fixtures/mcp-http-server.ts'
import { offeredTools, openaiMessages, openaiTurn, postAgent, type Json } from './helpers.ts'

const stdioServer = fileURLToPath(new URL('./fixtures/mcp-stdio-server.ts', import.meta.url))
const httpServer = await startHttpMcpServer()
const dir = mkdtempSync(join(tmpdir(), 'mcp-route-'))
const toolsConfig = join(dir, 'tools.json')
writeFileSync(
  toolsConfig,
  JSON.stringify({
    toolTimeoutMs: 2000,
    mcpServers: {
      // Generous start deadlines: a busy machine starts Node slowly.
      local: { command: process.execPath, args: [stdioServer], startTimeoutMs: 60_000 },
      remote: { url: httpServer.url, startTimeoutMs: 60_000 },
      vault: { command: process.execPath, args: [stdioServer], env: { MCP_TEST_TOKEN: '${MCP_ROUTE_SECRET}' }, startTimeoutMs: 60_000 },
    },
  }),
)
/** Given to the vault server through the tools config; its tools quote it back. */
const SECRET = 'vlt-7c1e9a5b3d8f2a4c6e0b'
const receiver = await startOtlpReceiver()
const upstream = await startUpstream({ seed: 21 })
const gateway = await startGateway({
  timeoutMs: 90_000,
  env: {
    GATEWAY_TOOLS_CONFIG: toolsConfig,
    AGENT_TOOL_TIMEOUT_MS: '1500',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OPENAI_API_KEY: 'sk-test-mcp-route',
    MCP_ROUTE_SECRET: SECRET,
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
    OPENAI_BASE_URL: upstream.openaiBaseURL,
  },
})
t.teardown(async () => {
  await gateway.stop()
  await Promise.all([upstream.close(), receiver.close(), httpServer.close()])
  rmSync(dir, { recursive: true, force: true })
})
t.beforeEach(() => upstream.reset())

const call = (id: string, name: string, args: Json) => ({ id, name, arguments: JSON.stringify(args) })

t.test('GET /v1/agents/tools lists the MCP tools as <server>__<tool> with their schemas', async (t) => {
  const body = (await (await fetch(`${gateway.url}/v1/agents/tools`)).json()) as {
    data: Array<{ name: string; source: string; parameters: Json }>
    mcp_servers: Array<{ server: string; healthy: boolean; transport: string }>
  }
  const byName = new Map(body.data.map((tool) => [tool.name, tool]))
  for (const name of ['calculator', 'current_time', 'local__add', 'local__fail', 'remote__multiply', 'remote__lookup']) {
    t.ok(byName.has(name), `${name} is offered`)
  }
  t.equal(byName.get('local__add')?.source, 'mcp:local')
  t.match(byName.get('local__add')?.parameters, { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } })
  t.equal(byName.get('remote__multiply')?.source, 'mcp:remote')
  t.match(body.mcp_servers, [
    { server: 'local', transport: 'stdio', healthy: true },
    { server: 'remote', transport: 'http', healthy: true },
    { server: 'vault', transport: 'stdio', healthy: true },
  ])
})

t.test('a run calls a stdio tool and an HTTP tool in one turn, then answers', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [call('call_add', 'local__add', { a: 15, b: 7 }), call('call_mul', 'remote__multiply', { a: 15, b: 23 })] }),
    openaiTurn({ content: '22 and 345.' }),
  )
  const { status, json: body, headers } = await postAgent(gateway.url, {
    model: 'gpt-4o-mini',
    tools: ['local__add', 'remote__multiply'],
    messages: [{ role: 'user', content: 'Add 15 and 7, multiply 15 by 23.' }],
  })
  t.equal(status, 200)
  t.equal(body.answer, '22 and 345.')
  const calls = (body.iterations as Array<{ tool_calls: Array<{ name: string; result: string | null; error: string | null }> }>)[0]!.tool_calls
  t.same(calls.map((c) => [c.name, c.result, c.error]), [
    ['local__add', '22', null],
    ['remote__multiply', '345', null],
  ])
  t.same(offeredTools(upstream.requests[0]).sort(), ['local__add', 'remote__multiply'], 'only the named tools are offered')
  const parameters = (upstream.requests[0]?.body as { tools: Array<{ function: { parameters: Json } }> }).tools[0]!.function.parameters
  t.notOk('$schema' in parameters, 'the MCP schema reaches the model without $schema')
  const toolMessages = openaiMessages(upstream.requests[1]).filter((m) => m.role === 'tool')
  t.same(toolMessages.map((m) => [m.tool_call_id, m.content]), [['call_add', '22'], ['call_mul', '345']])

  const traceId = headers.get('x-trace-id')!
  const spans = await receiver.waitForSpans((s) => s.traceId === traceId && s.name.startsWith('reasoning.tool.'), 2)
  t.same(spans.map((s) => s.name).sort(), ['reasoning.tool.local__add', 'reasoning.tool.remote__multiply'])
  for (const span of spans) t.equal(span.parentSpanId, headers.get('x-span-id'), 'tool spans are children of the agent span')
})

t.test('an MCP tool that fails or hangs is an error result, and the run goes on', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [call('call_fail', 'local__fail', {}), call('call_hang', 'local__hang', {})] }),
    openaiTurn({ content: 'Both tools failed.' }),
  )
  const { status, json: body } = await postAgent(gateway.url, {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Try the tools.' }],
  })
  t.equal(status, 200)
  t.equal(body.answer, 'Both tools failed.')
  const calls = (body.iterations as Array<{ tool_calls: Array<{ name: string; error: string | null }> }>)[0]!.tool_calls
  t.match(calls[0], { name: 'local__fail', error: /deliberate failure/ })
  t.match(calls[1], { name: 'local__hang', error: /timed out/ })
  const toolMessages = openaiMessages(upstream.requests[1]).filter((m) => m.role === 'tool')
  t.match(toolMessages.map((m) => m.content), [/^Error: .*deliberate failure/, /^Error: .*timed out/], 'the model reads the errors')

  // The hung call did not wedge the server: the next run's call to it works.
  upstream.enqueue(openaiTurn({ toolCalls: [call('call_add2', 'local__add', { a: 1, b: 2 })] }), openaiTurn({ content: '3' }))
  const again = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: '1+2' }] })
  t.match((again.json.iterations as Array<{ tool_calls: Array<{ result: string }> }>)[0]!.tool_calls[0], { result: '3' })
})

t.test('an MCP server\'s secret, quoted by its tools, reaches neither the model, the caller, a span nor a log line', async (t) => {
  upstream.enqueue(
    openaiTurn({ toolCalls: [call('call_err', 'vault__token_error', {}), call('call_echo', 'vault__token_echo', {})] }),
    openaiTurn({ content: 'Done.' }),
  )
  const { status, json, headers } = await postAgent(gateway.url, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Use the vault.' }] })
  const text = JSON.stringify(json)
  t.equal(status, 200)
  const leaks = (haystack: string) => [SECRET, SECRET.slice(0, 12), SECRET.slice(-10)].filter((needle) => haystack.includes(needle))
  t.match(text, /upstream refused token \[redacted\]/, 'the caller sees the tool error, scrubbed')
  t.match(text, /my token is \[redacted\]/, 'and the result, scrubbed')
  t.same(leaks(text), [], 'nothing of the secret in the answer')
  const toModel = openaiMessages(upstream.requests[1]).filter((m) => m.role === 'tool').map((m) => String(m.content))
  t.match(toModel, [/^Error: upstream refused token \[redacted\]/, /^my token is \[redacted\]/], 'the model reads them scrubbed')
  const traceId = headers.get('x-trace-id')!
  const toolSpans = await receiver.waitForSpans((s) => s.traceId === traceId && s.name.startsWith('reasoning.tool.vault__'), 2)
  t.match(toolSpans.find((s) => s.name === 'reasoning.tool.vault__token_error')?.status, { code: 'ERROR', message: /\[redacted\]/ })
  await receiver.waitForSpans((s) => s.traceId === traceId && s.kind === 'SERVER')
  const spans = receiver.spans.filter((s) => s.traceId === traceId)
  t.same(leaks(JSON.stringify(spans, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))), [], 'nor on any span of the run')
  const health = await (await fetch(`${gateway.url}/v1/agents/tools`)).text()
  t.same(leaks(health), [], 'nor in the tools list and health')
  t.ok(gateway.lines.some((line) => line.includes('starting with token [redacted]')), 'the server\'s stderr is logged, scrubbed')
  t.same(gateway.lines.filter((line) => leaks(line).length > 0), [], 'no log line holds it')
})
