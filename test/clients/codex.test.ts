// The real Codex CLI (`codex exec`, @openai/codex 0.171.0, the version test/fixtures/clients was
// captured with) pointed at the gateway as a custom provider with `wire_api = "responses"`:
// against a Claude model (translated: Codex prints what the recorded Claude said, Anthropic gets a
// valid Messages request with Codex's tools, and what Claude cannot run is left out and named in
// x-gateway-omitted), an OpenAI model (passthrough: the body that reaches OpenAI is Codex's own)
// and the offline demo (a whole tool round trip: the demo calls exec_command, Codex runs it in its
// read-only sandbox, the demo answers from the output). A recording proxy between Codex and the
// gateway keeps what Codex sent and the headers it got.
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sseReply } from '../support/fixture-variants.ts'
import { startGateway } from '../support/gateway.ts'
import { startRecordingProxy, type ProxiedExchange } from '../support/recording-proxy.ts'
import { providerEnv, startUpstream } from '../support/upstream.ts'
import { allSpans, waitForTrace } from '../traces/helpers.ts'
import { runCodex } from './codex-cli.ts'
import { DEMO_LABEL, recordedClaudeText, recordedOutputText } from './helpers.ts'

type Json = Record<string, any>

t.setTimeout(300_000) // four Codex runs, each waiting on processes, on a CI machine sharing two cores

// Codex shapes its request by what it knows of the model: for a name it does not know (a Claude
// model) it sends a plain request; for its own models everything (a `custom` apply_patch tool,
// tool_search, text.verbosity). An alias routes one of its own names to Claude, as a user who
// keeps Codex's prompts but wants Claude's answers would configure it.
const dir = mkdtempSync(join(tmpdir(), 'gateway-codex-'))
const configPath = join(dir, 'gateway.json')
writeFileSync(configPath, JSON.stringify({ aliases: { 'gpt-5.5': 'claude-sonnet-4-5' } }))
const upstream = await startUpstream({ seed: 11 })
const gateway = await startGateway({ env: { ...providerEnv(upstream), GATEWAY_CONFIG: configPath }, timeoutMs: 60_000 })
const proxy = await startRecordingProxy(gateway.url)
t.teardown(async () => {
  await proxy.close()
  await gateway.stop()
  await upstream.close()
  rmSync(dir, { recursive: true, force: true })
})
t.beforeEach(() => {
  upstream.reset()
  proxy.exchanges.length = 0
})

const codex = (model: string | undefined, prompt: string) => runCodex({ baseURL: `${proxy.url}/v1`, model, prompt })
const omitted = (exchange: ProxiedExchange | undefined) => String(exchange?.responseHeaders?.['x-gateway-omitted'] ?? '').split(', ').filter(Boolean).sort()

/**
 * Codex asks `model` while the emulator replays `recording`: it must exit 0 and print `answer`
 * (the recorded words) on stdout and as its last message.
 */
async function ask(t: Test, model: string | undefined, prompt: string, recording: string, answer: string): Promise<void> {
  upstream.enqueue(sseReply(recording))
  const run = await codex(model, prompt)
  t.equal(run.code, 0, 'codex exits 0', { stderr: run.stderr })
  t.equal(run.stdout.trim(), answer.trim(), 'it prints the recorded answer')
  t.equal(run.lastMessage.trim(), answer.trim(), 'as its last message')
}

/** The names Codex's tools must reach Claude under: functions, custom tools, a namespace's members, web search. */
function toolNames(body: Json): string[] {
  const names = (tools: Json[]): string[] =>
    tools.flatMap((tool) => (tool.type === 'namespace' ? names(tool.tools) : tool.type === 'function' || tool.type === 'custom' || tool.type === 'web_search' ? [tool.name ?? 'web_search'] : []))
  return names(body.tools ?? []).sort()
}

/** What the Messages API would refuse with a 400, checked on the request the gateway sent Claude. */
function messagesRequestProblems(body: Json): string[] {
  const problems: string[] = []
  const known = ['model', 'max_tokens', 'messages', 'system', 'tools', 'tool_choice', 'stream', 'thinking', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'metadata', 'output_config']
  for (const key of Object.keys(body)) if (!known.includes(key)) problems.push(`unknown field ${key}`)
  if (typeof body.model !== 'string' || body.model === '') problems.push('model missing')
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) problems.push(`max_tokens ${body.max_tokens}`)
  const messages: Json[] = Array.isArray(body.messages) ? body.messages : []
  if (messages[0]?.role !== 'user') problems.push('messages must start with a user turn')
  messages.forEach((message, i) => {
    if (message.role !== 'user' && message.role !== 'assistant') problems.push(`messages[${i}].role ${message.role}`)
    if (i > 0 && messages[i - 1]!.role === message.role) problems.push(`messages[${i}] repeats the role ${message.role}`)
    const blocks: Json[] = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content
    if (!Array.isArray(blocks) || blocks.length === 0) problems.push(`messages[${i}] has no content`)
    for (const block of blocks ?? []) if (block.type === 'text' && !block.text) problems.push(`messages[${i}] has an empty text block`)
  })
  for (const block of (Array.isArray(body.system) ? body.system : []) as Json[]) if (block.type !== 'text' || !block.text) problems.push('system blocks must be non-empty text')
  const names = new Set<string>()
  for (const tool of (body.tools ?? []) as Json[]) {
    if (names.has(tool.name)) problems.push(`tool ${tool.name} twice`)
    names.add(tool.name)
    if (String(tool.type).startsWith('web_search_')) continue
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(String(tool.name))) problems.push(`tool name ${tool.name}`)
    if (tool.input_schema?.type !== 'object') problems.push(`tool ${tool.name}: input_schema must be an object schema`)
  }
  if (body.thinking?.type === 'enabled' && !(body.thinking.budget_tokens >= 1024 && body.thinking.budget_tokens < body.max_tokens)) {
    problems.push(`thinking.budget_tokens ${body.thinking.budget_tokens} must be ≥ 1024 and < max_tokens ${body.max_tokens}`)
  }
  return problems
}

/** The gateway's trace for an answer Codex got: its root and model-call spans, from GET /v1/traces/{id}. */
async function traceOf(exchange: ProxiedExchange | undefined) {
  const traceId = String(exchange?.responseHeaders?.['x-trace-id'] ?? '')
  const document = await waitForTrace(gateway.url, traceId, (d) => allSpans(d).some((s) => s.kind === 'SERVER') && allSpans(d).some((s) => s.name === 'llm.request'))
  const spans = allSpans(document)
  return { root: spans.find((s) => s.kind === 'SERVER')!, call: spans.find((s) => s.name === 'llm.request')! }
}

t.test('a Claude model, named as a user would: Codex prints what Claude said; Claude gets a valid Messages request with every tool Codex offered', async (t) => {
  const recording = 'anthropic-messages-text-stream'
  await ask(t, 'claude-sonnet-4-5', 'Tell me a joke about OpenTelemetry.', recording, recordedClaudeText(recording))

  t.same(proxy.exchanges.map((e) => `${e.method} ${e.path} ${e.status}`), ['POST /v1/responses 200'], 'one call, answered')
  const sent = proxy.exchanges[0]!.body as Json
  t.equal(sent.store, false, 'Codex asks not to store')
  t.same(upstream.requests.map((r) => `${r.method} ${r.path}`), ['POST /v1/messages'], 'Claude was asked once')
  const claude = upstream.requests[0]!.body as Json
  t.same(messagesRequestProblems(claude), [], 'a request the Messages API accepts')
  t.equal(claude.model, 'claude-sonnet-4-5', 'the model as Codex named it')
  t.same((claude.tools as Json[]).map((tool) => tool.name).sort(), toolNames(sent), "every tool Codex offered, the namespace's members included")
  t.ok((claude.tools as Json[]).some((tool) => tool.type === 'web_search_20250305'), "web search as Anthropic's web search tool")
  t.match(JSON.stringify(claude.messages.at(-1)), /Tell me a joke about OpenTelemetry\./, "the user's prompt is the last turn")
  t.notOk(omitted(proxy.exchanges[0]).some((name) => name.startsWith('tools.')), 'no tool left out')

  const { root, call } = await traceOf(proxy.exchanges[0])
  t.equal(root.name, 'POST /v1/responses', "the gateway's trace of the call")
  t.equal(call.attributes['gen_ai.request.model'], 'claude-sonnet-4-5', 'a model call to Claude in it')
})

t.test("Codex's own model routed to Claude: its whole request reaches Claude, what Claude cannot run left out and named", async (t) => {
  const recording = 'anthropic-messages-text-stream'
  await ask(t, 'gpt-5.5', 'Tell me a joke about OpenTelemetry.', recording, recordedClaudeText(recording))

  const sent = proxy.exchanges[0]!.body as Json
  const types = (sent.tools as Json[]).map((tool) => tool.type)
  t.ok(types.includes('custom') && types.includes('tool_search') && types.includes('web_search') && sent.text?.verbosity, 'Codex sent its full request (custom, tool_search, web_search, text.verbosity)')
  t.same(omitted(proxy.exchanges[0]), ['text.verbosity', 'tools.tool_search'], 'x-gateway-omitted names what Claude has no equivalent for')

  const claude = upstream.requests[0]!.body as Json
  t.same(messagesRequestProblems(claude), [], 'a request the Messages API accepts')
  t.equal(claude.model, 'claude-sonnet-4-5', 'the alias routed it to Claude')
  const patch = (claude.tools as Json[]).find((tool) => tool.name === 'apply_patch')
  t.same(Object.values(patch?.input_schema?.properties ?? {}).map((p: any) => p.type), ['string'], 'the custom (grammar) apply_patch tool is a function taking one string')
  t.ok((claude.tools as Json[]).some((tool) => tool.type === 'web_search_20250305'), "web search as Anthropic's web search tool")
  t.equal(claude.thinking?.type, 'enabled', "Codex's reasoning effort asks Claude to think")

  const { call } = await traceOf(proxy.exchanges[0])
  t.same([...(call.attributes['llm.request.omitted'] ?? [])].sort(), omitted(proxy.exchanges[0]), 'the llm.request span records the same omissions')
})

t.test("Codex's default model, an OpenAI one: passed through, the body OpenAI gets is Codex's own", async (t) => {
  const recording = 'openai-responses-text-stream'
  await ask(t, undefined, 'What is 2+2?', recording, recordedOutputText(recording))

  const sent = proxy.exchanges[0]!.body as Json
  t.equal(sent.store, false, 'Codex asks not to store')
  t.ok((sent.input as Json[]).some((item) => item.type === 'additional_tools'), 'its default model sends its tools as an additional_tools item')
  t.same(upstream.requests.map((r) => `${r.method} ${r.path}`), ['POST /v1/responses'])
  t.same(upstream.requests[0]!.body, sent, "OpenAI gets Codex's body unchanged")
  t.equal(upstream.requests[0]!.headers.authorization, 'Bearer sk-test-openai', "with the gateway's key, not Codex's")
  t.same(omitted(proxy.exchanges[0]), [], 'nothing left out')

  const { root, call } = await traceOf(proxy.exchanges[0])
  t.equal(root.name, 'POST /v1/responses', "the gateway's trace of the call")
  t.equal(call.attributes['gen_ai.request.model'], sent.model, 'a model call to the model Codex asked for in it')
})

t.test('the offline demo: a whole tool round trip, the demo calls exec_command, Codex runs it in its read-only sandbox, the demo answers from its output', async (t) => {
  const prompt = 'echo codex-through-the-gateway'
  const run = await codex('demo-chat', prompt)
  t.equal(run.code, 0, 'codex exits 0', { stderr: run.stderr })
  t.match(run.stdout, DEMO_LABEL, 'the answer says it is the demo')
  t.match(run.stdout, /exec_command returned .*codex-through-the-gateway/s, "and quotes the command's output")
  t.equal(upstream.requests.length, 0, 'nothing left the gateway')

  t.same(proxy.exchanges.map((e) => `${e.method} ${e.path} ${e.status}`), ['POST /v1/responses 200', 'POST /v1/responses 200'], 'the tool call, then the answer')
  const input = (proxy.exchanges[1]!.body as Json).input as Json[]
  const call = input.find((item) => item.type === 'function_call')
  const output = input.find((item) => item.type === 'function_call_output')
  t.equal(call?.name, 'exec_command', 'the demo called the first tool Codex offered')
  t.same(JSON.parse(call?.arguments ?? '{}'), { cmd: prompt }, 'with the prompt as the command')
  t.equal(output?.call_id, call?.call_id, 'Codex sent its result back for that call')
  t.match(String(output?.output), /codex-through-the-gateway/, 'the command ran')
  t.ok(omitted(proxy.exchanges[0]).includes('tools.web_search'), 'the demo cannot search the web, and says so')

  for (const exchange of proxy.exchanges) {
    const { root } = await traceOf(exchange)
    t.equal(root.name, 'POST /v1/responses', "the gateway's trace of each call")
  }
})
