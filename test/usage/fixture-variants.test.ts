// The derived variants of test/support/fixture-variants.ts against the recordings they come
// from: converting to the other mode and back gives the recording's answer and usage again, and
// a derived stream has the recorded streams' shape. Offline: no gateway, no network.
import t from 'tap'
import { fixtureNames, loadFixture } from '../support/fixtures.ts'
import { openaiStreamChunks, sseEvents } from '../support/upstream.ts'
import {
  anthropicMessageToSse,
  anthropicSseToMessage,
  openaiCompletionToSse,
  openaiSseToCompletion,
  pieces,
  recordedAsStream,
} from '../support/fixture-variants.ts'

type Json = Record<string, unknown>

const ok200 = (prefix: string) => fixtureNames(prefix).filter((name) => loadFixture(name).meta.http_status === 200)

/** What a completion says, without the fields a conversion may legitimately drop (annotations). */
function openaiEssentials(completion: Json): Json {
  const choices = (completion.choices as Json[]).map((choice) => {
    const message = choice.message as Json
    return {
      index: choice.index,
      finish_reason: choice.finish_reason,
      role: message.role,
      content: message.content,
      refusal: message.refusal ?? null,
      tool_calls: message.tool_calls ?? [],
    }
  })
  return { id: completion.id, model: completion.model, created: completion.created, choices, usage: completion.usage }
}

function anthropicEssentials(message: Json): Json {
  return {
    id: message.id,
    model: message.model,
    role: message.role,
    content: message.content,
    stop_reason: message.stop_reason,
    stop_sequence: message.stop_sequence,
    usage: message.usage,
  }
}

t.test('pieces never split a surrogate pair and lose nothing', async (t) => {
  t.strictSame(pieces('ab😀cd', 3), ['ab', '😀c', 'd'])
  t.strictSame(pieces('a', 3), ['a'])
  t.equal(pieces('héllo wörld 😀', 3).join(''), 'héllo wörld 😀')
})

for (const name of ok200('openai-chat-')) {
  const body = loadFixture(name).response.body
  t.test(name, async (t) => {
    if (recordedAsStream(name)) {
      if (loadFixture(name).meta.usage === null) {
        t.throws(() => openaiSseToCompletion(body), /cannot be derived/, 'no usage recorded: no JSON variant')
        return
      }
      const json = openaiSseToCompletion(body)
      t.strictSame(openaiEssentials(openaiSseToCompletion(openaiCompletionToSse(json))), openaiEssentials(json), 'SSE → JSON → SSE → JSON is stable')
      t.strictSame(json.usage, loadFixture(name).meta.usage, 'usage is the recorded usage chunk')
      return
    }
    const json = JSON.parse(body) as Json
    const sse = openaiCompletionToSse(json)
    t.strictSame(openaiEssentials(openaiSseToCompletion(sse)), openaiEssentials(json), 'JSON → SSE → JSON gives the recording back')
    const chunks = openaiStreamChunks(sse)
    t.ok(sse.endsWith('data: [DONE]\n\n'), 'ends with [DONE]')
    const last = chunks.at(-1)
    t.strictSame(last?.choices, [], 'the usage chunk has choices: []')
    t.strictSame(last?.usage, json.usage, 'and the recorded usage')
    t.ok(chunks.slice(0, -1).every((c) => c.usage === null), 'every other chunk has usage: null')
    t.equal(chunks[0]?.choices[0]?.delta.role, 'assistant', 'the role chunk comes first')
    for (const chunk of chunks) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        const raw = call as typeof call & { custom?: { name?: string; input?: string } }
        if (call.id !== undefined) {
          t.equal(call.function?.arguments ?? raw.custom?.input, '', 'a tool call opens with its id, name and empty arguments')
        }
      }
    }
  })
}

for (const name of ok200('anthropic-messages-')) {
  const body = loadFixture(name).response.body
  t.test(name, async (t) => {
    const message = recordedAsStream(name) ? anthropicSseToMessage(body) : (JSON.parse(body) as Json)
    const sse = anthropicMessageToSse(message)
    t.strictSame(anthropicEssentials(anthropicSseToMessage(sse)), anthropicEssentials(message), 'Message → SSE → Message is stable')
    const events = sseEvents(sse).map((e) => ({ event: e.event, data: JSON.parse(e.data) as Json }))
    t.ok(events.every((e) => e.event === e.data.type), 'each event is named after its type')
    t.strictSame(
      [events[0]?.event, events.at(-2)?.event, events.at(-1)?.event],
      ['message_start', 'message_delta', 'message_stop'],
      'message_start … message_delta, message_stop',
    )
    const startUsage = (events[0]?.data.message as Json).usage as Json
    t.equal(startUsage.output_tokens, 1, 'message_start says output_tokens: 1, as the API does')
    const usage = message.usage as Json
    for (const field of ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'cache_creation']) {
      t.strictSame(startUsage[field], usage[field], `message_start carries ${field} as recorded`)
    }
    t.strictSame((events.at(-2)?.data as Json).usage, { output_tokens: usage.output_tokens }, 'message_delta carries the final output_tokens')
    if (!recordedAsStream(name)) {
      t.strictSame(usage, loadFixture(name).meta.usage, 'the usage converted is the recorded one')
    } else {
      const recorded = loadFixture(name).meta.usage as Json
      const start = recorded['message_start.message.usage'] as Json
      const late = recorded['message_delta.usage'] as Json
      t.equal(usage.output_tokens, late.output_tokens, "output_tokens is message_delta's, not message_start's")
      t.equal(usage.input_tokens, start.input_tokens, "input_tokens is message_start's")
    }
    for (const mode of ['cumulative', 'null-input'] as const) {
      t.strictSame(
        anthropicSseToMessage(anthropicMessageToSse(message, { messageDeltaUsage: mode })).usage,
        mode === 'null-input' ? usage : { ...usage, ...Object.fromEntries(['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'].map((f) => [f, usage[f] ?? 0])) },
        `message_delta usage ${mode}: later non-null fields override, nulls do not`,
      )
    }
  })
}
