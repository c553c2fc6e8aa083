// The validator of test/support/openapi.ts refuses what OpenAI's document refuses: a validator that
// let everything through would make test/http/openapi.test.ts prove nothing. Each OpenAPI habit
// the loader rewrites (nullable, discriminator, $recursiveRef, formats) is checked both ways.
import t, { type Test } from 'tap'
import { addsNoViolation, describeErrors, validate } from './openapi.ts'

const messages = [{ role: 'user', content: 'hi' }]
const error = { error: { message: 'No such model', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } }

t.test('a conforming value has no errors; a missing required field is named with its place', async (t) => {
  t.same(validate('ErrorResponse', error), [])
  const { param: _param, ...withoutParam } = error.error
  const errors = validate('ErrorResponse', { error: withoutParam })
  t.match(describeErrors(errors, { error: withoutParam }), /^\/error {2}\S*required {2}must have required property 'param'/)
})

t.test('nullable: true allows null beside the type, and still refuses another type', async (t) => {
  t.same(validate('CreateChatCompletionRequest', { model: 'gpt-4.1', messages, max_completion_tokens: null }), [])
  t.same(validate('CreateChatCompletionRequest', { model: 'gpt-4.1', messages, max_completion_tokens: 5 }), [])
  t.ok(validate('CreateChatCompletionRequest', { model: 'gpt-4.1', messages, max_completion_tokens: 'five' }).length > 0)
})

t.test('discriminator: only the branch the tag names is checked, and an unknown tag is one error', async (t) => {
  const delta = { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi', sequence_number: 3, logprobs: [] }
  t.same(validate('ResponseStreamEvent', delta), [])
  const errors = validate('ResponseStreamEvent', { ...delta, delta: 42 })
  t.same(
    errors.map((e) => `${e.instancePath} ${e.message}`),
    ['/delta must be string'],
    'one error, from ResponseTextDeltaEvent alone (not one per branch of the union)',
  )
  const unknown = validate('ResponseStreamEvent', { type: 'response.nonsense' })
  t.equal(unknown.length, 1)
  t.match(unknown[0], { keyword: 'discriminator', params: { tagValue: 'response.nonsense' } })
  // The tag decided inside an allOf: Response.output items.
  const call = { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' }
  t.same(validate('OutputItem', call), [])
  t.same(
    validate('OutputItem', { ...call, arguments: {} }).map((e) => `${e.instancePath} ${e.message}`),
    ['/arguments must be string'],
  )
})

t.test('$recursiveRef: a compound filter nests compound filters', async (t) => {
  const eq = { type: 'eq', key: 'lang', value: 'en' }
  t.same(validate('CompoundFilter', { type: 'and', filters: [eq, { type: 'or', filters: [eq] }] }), [])
  t.ok(validate('CompoundFilter', { type: 'and', filters: [{ type: 'or', filters: [{ type: 'eq', key: 'lang' }] }] }).length > 0, 'a nested filter is checked too')
})

t.test("formats: the document's unixtime is a non-negative number", async (t) => {
  const model = { id: 'gpt-4.1', object: 'model', created: 1_700_000_000, owned_by: 'openai' }
  t.same(validate('Model', model), [])
  t.match(validate('Model', { ...model, created: -1 }), [{ keyword: 'format', instancePath: '/created' }])
})

t.test('an unknown schema name throws instead of passing everything', async (t) => {
  t.throws(() => validate('NoSuchSchema', {}), /no schema NoSuchSchema/)
})

t.test("passthrough: a violation the upstream's own answer has is tolerated, one the gateway adds is listed", async (t) => {
  const found: unknown[] = []
  const recorder = { equal: (value: unknown) => found.push(value) } as unknown as Test
  // OpenAI's recorded answers say `user: null`, which the document does not allow.
  const sent = { type: 'response.created', sequence_number: 0, response: { user: null } }
  addsNoViolation(recorder, 'ResponseStreamEvent', [sent], [sent], 'as sent')
  addsNoViolation(recorder, 'ResponseStreamEvent', [{ ...sent, sequence_number: 'zero' }], [sent], 'with a violation added')
  t.equal(found[0], '', "the upstream's own violations are not the gateway's")
  t.match(found[1], /^\/sequence_number .*must be integer/, 'the added one is listed')
  t.notMatch(found[1], /user/, 'and only it')
})
