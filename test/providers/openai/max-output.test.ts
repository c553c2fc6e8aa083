// Claude Code asks 128,000 output tokens of any model: translated to an OpenAI model whose
// ceiling is lower, the request is clamped to the ceiling instead of refused upstream with a 400.
import t from 'tap'
import { messagesToChat } from '../../../src/providers/openai/from-messages.ts'
import { openai } from '../../../src/providers/openai/provider.ts'

const body = { model: 'gpt-4o-mini', max_tokens: 128_000, messages: [{ role: 'user', content: 'hi' }] }

t.test("a max_tokens over the model's ceiling is clamped to it; under it, kept", async (t) => {
  t.equal(messagesToChat.request(body, 'gpt-4o-mini', false, { reasoning: false, maxOutputTokens: 16_384 }).body.max_completion_tokens, 16_384)
  t.equal(messagesToChat.request({ ...body, max_tokens: 1000 }, 'gpt-4o-mini', false, { reasoning: false, maxOutputTokens: 16_384 }).body.max_completion_tokens, 1000)
  t.equal(messagesToChat.request(body, 'llama3.2', false, { reasoning: false }).body.max_completion_tokens, 128_000, 'no ceiling known: as asked')
})

t.test("OpenAI's entry knows its models' ceilings", async (t) => {
  t.equal(openai.maxOutputTokens?.('gpt-4o-mini'), 16_384)
  t.equal(openai.maxOutputTokens?.('gpt-4o-2024-05-13'), 4_096, 'the first gpt-4o snapshot had 4,096')
  t.equal(openai.maxOutputTokens?.('gpt-4.1-nano'), 32_768)
  t.equal(openai.maxOutputTokens?.('gpt-5-mini'), 128_000)
  t.equal(openai.maxOutputTokens?.('some-future-model'), undefined)
})

t.test('the Responses API too: max_output_tokens over the ceiling is clamped', async (t) => {
  const { responsesToChat } = await import('../../../src/providers/openai/from-responses.ts')
  const request = { model: 'gpt-4o-mini', input: 'hi', max_output_tokens: 100_000 }
  t.equal(responsesToChat.request(request, 'x', false, { reasoning: false, maxOutputTokens: 16_384 }).body.max_tokens, 16_384)
  t.equal(responsesToChat.request({ ...request, max_output_tokens: 50 }, 'x', false, { reasoning: false, maxOutputTokens: 16_384 }).body.max_tokens, 50)
})
