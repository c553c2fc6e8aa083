// responses → chat → Anthropic Messages, composed with via(): what Codex sends reaches Claude as
// a valid Messages request, and what Claude answers (recorded) comes back as a Response with the
// usage Anthropic counted, cache writes included, streamed equal to not.
import { readFileSync } from 'node:fs'
import t from 'tap'
import type { StreamEvent } from '../../../src/core/translator.ts'
import { via } from '../../../src/core/translate-via.ts'
import { chatToMessages } from '../../../src/providers/anthropic/from-chat.ts'
import { responsesToChat } from '../../../src/providers/openai/from-responses.ts'
import { anthropicMessageToSse } from '../../support/fixture-variants.ts'
import { loadFixture } from '../../support/fixtures.ts'
import { comparableResponse } from '../../support/response-compare.ts'
import { sseEvents } from '../../support/upstream.ts'

type Json = Record<string, unknown>

const toClaude = via(responsesToChat, chatToMessages)

t.test("Codex's request reaches Claude: system from developer items, its tools, hosted ones left out", async (t) => {
  const codex = JSON.parse(readFileSync(new URL('../../fixtures/clients/codex-request.json', import.meta.url), 'utf8')) as Json
  const { body, omitted } = toClaude.request(codex, 'claude-sonnet-4-5', true)
  t.equal(body.model, 'claude-sonnet-4-5')
  t.equal(body.stream, true)
  t.ok(Array.isArray(body.system) && body.system.length === 4, 'one system block per developer text part')
  t.same((body.messages as Json[]).map((m) => m.role), ['user'], 'the two user items are one user turn')
  const tools = body.tools as Json[]
  t.same(tools.map((tool) => tool.name), ['exec_command', 'write_stdin', 'request_user_input', 'apply_patch', 'view_image', 'get_goal', 'create_goal', 'update_goal'])
  t.match(tools[3], { input_schema: { type: 'object', properties: { input: { type: 'string' } }, required: ['input'] } })
  t.same(omitted?.sort(), ['text.verbosity', 'tools.tool_search', 'tools.web_search'])
})

function recorded(name: string): Json {
  return JSON.parse(loadFixture(name).response.body) as Json
}


for (const name of ['anthropic-messages-cache-write-nonstream', 'anthropic-messages-tool-use-nonstream', 'anthropic-messages-thinking-nonstream']) {
  t.test(`${name}: usage as Anthropic counted it; streamed equals not`, async (t) => {
    const request = { model: 'claude', input: 'x', tools: [{ type: 'function', name: 'get_weather' }] }
    toClaude.request(request, 'claude', false)
    const message = recorded(name)
    const answer = toClaude.response(message, request)
    const usage = message.usage as Json
    const cacheWrite = Number(usage.cache_creation_input_tokens ?? 0)
    t.same(answer.usage, {
      input: Number(usage.input_tokens) + Number(usage.cache_read_input_tokens ?? 0) + cacheWrite,
      output: usage.output_tokens,
      cacheRead: Number(usage.cache_read_input_tokens ?? 0),
      cacheWrite,
      cacheWrite1h: 0,
      reasoning: 0,
    })
    t.match(answer.body.usage, { input_tokens: answer.usage?.input, output_tokens: usage.output_tokens, input_tokens_details: { cache_write_tokens: cacheWrite } })
    t.equal(answer.id, message.id, 'the upstream\'s id in the facts')

    const stream = toClaude.stream(request)
    const events: StreamEvent[] = []
    for (const event of sseEvents(anthropicMessageToSse(message))) stream.push({ event: event.event, data: JSON.parse(event.data) as Json }, events)
    stream.end(events)
    t.same(comparableResponse(events.at(-1)?.data.response), comparableResponse(answer.body))
    t.same(stream.facts().usage, answer.usage)
  })
}
