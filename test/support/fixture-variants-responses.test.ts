// The derived Responses variants (fixture-variants-responses.ts) against the recordings they come
// from and the recorded streams they imitate: the other mode and back gives the recording's answer
// and usage again, and a derived stream has the recorded streams' events, field for field.
// Offline: no gateway, no network.
import t from 'tap'
import { fixtureNames, loadFixture } from './fixtures.ts'
import { responseSseToJson, responseToSse } from './fixture-variants-responses.ts'
import { recordedAsStream } from './fixture-variants.ts'
import { sseEvents } from './sse.ts'

type Json = Record<string, unknown>

const OK = fixtureNames('openai-responses-').filter((name) => loadFixture(name).meta.http_status === 200)

/** Each event's JSON, with the SSE `event:` name beside it. */
const events = (sse: string): (Json & { name?: string })[] => sseEvents(sse).map((e) => ({ name: e.event, ...(JSON.parse(e.data) as Json) }))

/** The event types in order, runs of the same delta type folded into one `type*`. */
function outline(sse: string): string[] {
  const out: string[] = []
  for (const { type } of events(sse)) {
    const name = String(type)
    const folded = name.endsWith('.delta') ? `${name}*` : name
    if (out.at(-1) !== folded || !folded.endsWith('*')) out.push(folded)
  }
  return out
}

/** Per event type, the sorted field names, as a recorded stream has them (obfuscation is padding, not kept). */
function fieldsByType(sse: string): Record<string, string[]> {
  const fields: Record<string, string[]> = {}
  for (const { name, ...event } of events(sse)) {
    if (name !== event.type) throw new Error(`event: ${name} carries a ${String(event.type)}`)
    fields[String(event.type)] = Object.keys(event).filter((k) => k !== 'obfuscation').sort()
  }
  return fields
}

t.test('every 200 Responses recording: the other mode and back gives the recorded Response', async (t) => {
  t.ok(OK.length >= 6, `${OK.length} recordings`)
  for (const name of OK) {
    const fixture = loadFixture(name)
    const json = recordedAsStream(name) ? responseSseToJson(fixture.response.body) : (JSON.parse(fixture.response.body) as Json)
    t.strictSame(json.usage, fixture.meta.usage, `${name}: usage is the recorded one`)
    const sse = responseToSse(json)
    t.strictSame(responseSseToJson(sse), json, `${name}: JSON → SSE → JSON is the same Response`)
    const numbers = events(sse).map((e) => e.sequence_number)
    t.strictSame(numbers, numbers.map((_, i) => i), `${name}: sequence_number counts from 0`)
  }
})

t.test('a derived text stream has the recorded text stream events, field for field', async (t) => {
  const recorded = loadFixture('openai-responses-text-stream').response.body
  const derived = responseToSse(JSON.parse(loadFixture('openai-responses-text-nonstream').response.body) as Json)
  t.strictSame(outline(derived), outline(recorded))
  t.strictSame(fieldsByType(derived), fieldsByType(recorded))
  // The shell the stream opens with, compared with the recording's (same field set, same nulls).
  const [created] = events(derived)
  const [recordedCreated] = events(recorded)
  const shell = created?.response as Json
  t.match(shell, { status: 'in_progress', output: [], usage: null, completed_at: null, error: null })
  t.strictSame(Object.keys(shell).filter((k) => k !== 'billing').sort(), Object.keys(recordedCreated?.response as Json).sort())
  t.equal(derived.split('\n\n').at(-1), '', 'every event ends with a blank line')
})

t.test('a derived function-call stream has the recorded one, field for field (plus sequence_number)', async (t) => {
  const recorded = loadFixture('openai-responses-function-call-stream').response.body
  const json = JSON.parse(loadFixture('openai-responses-function-calls-nonstream').response.body) as Json
  const derived = responseToSse(json)
  const perCall = outline(recorded).slice(2, -1) // added, arguments.delta*, arguments.done, item.done
  t.strictSame(outline(derived), [...outline(recorded).slice(0, 2), ...perCall, ...perCall, 'response.completed'])
  const recordedFields = fieldsByType(recorded)
  for (const [type, fields] of Object.entries(fieldsByType(derived))) {
    t.strictSame(fields, [...(recordedFields[type] ?? []), 'sequence_number'].sort(), type)
  }
  const added = events(derived).find((e) => e.type === 'response.output_item.added')
  t.match(added?.item, { type: 'function_call', status: 'in_progress', arguments: '', call_id: 'call_grggfsR0ccRoMcXy17gsju6I' })
  const args = events(derived).filter((e) => e.type === 'response.function_call_arguments.delta' && e.output_index === 1)
  t.ok(args.length >= 2, 'arguments arrive in several fragments')
  t.equal(args.map((e) => e.delta).join(''), '{"location":"London"}')
})

t.test('reasoning, refusal and custom tool items get their documented events', async (t) => {
  const response: Json = {
    id: 'resp_1',
    object: 'response',
    status: 'incomplete',
    output: [
      { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Counting letters.' }], encrypted_content: 'gAAA' },
      { id: 'msg_1', type: 'message', status: 'incomplete', role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot help.' }] },
      { id: 'ctc_1', type: 'custom_tool_call', call_id: 'call_1', name: 'apply_patch', input: '*** Begin Patch' },
    ],
    usage: { input_tokens: 5, output_tokens: 9, output_tokens_details: { reasoning_tokens: 4 }, total_tokens: 14 },
  }
  const sse = responseToSse(response)
  t.strictSame(outline(sse), [
    'response.created',
    'response.in_progress',
    'response.output_item.added',
    'response.reasoning_summary_part.added',
    'response.reasoning_summary_text.delta*',
    'response.reasoning_summary_text.done',
    'response.reasoning_summary_part.done',
    'response.output_item.done',
    'response.output_item.added',
    'response.content_part.added',
    'response.refusal.delta*',
    'response.refusal.done',
    'response.content_part.done',
    'response.output_item.done',
    'response.output_item.added',
    'response.custom_tool_call_input.delta*',
    'response.custom_tool_call_input.done',
    'response.output_item.done',
    'response.incomplete',
  ])
  const all = events(sse)
  t.equal(all.filter((e) => e.type === 'response.reasoning_summary_text.delta').map((e) => e.delta).join(''), 'Counting letters.')
  t.match(all.find((e) => e.type === 'response.output_item.added'), { item: { type: 'reasoning', summary: [], encrypted_content: 'gAAA' } })
  t.equal(all.filter((e) => e.type === 'response.refusal.delta').map((e) => e.delta).join(''), 'I cannot help.')
  t.strictSame(responseSseToJson(sse), response, 'the terminal event carries the Response whole')
})

t.test('a stream without its terminal event, or ending in an error, has no JSON variant', async (t) => {
  const text = loadFixture('openai-responses-text-stream').response.body
  const cut = text.slice(0, text.lastIndexOf('event: response.completed'))
  t.throws(() => responseSseToJson(cut), /not a complete Responses stream/)
  const failed = `${cut}event: error\ndata: ${JSON.stringify({ type: 'error', code: 'server_error', message: 'boom', sequence_number: 15 })}\n\n`
  t.throws(() => responseSseToJson(failed), /error event/)
})
