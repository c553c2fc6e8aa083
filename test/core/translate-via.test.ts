// via(outer, inner): two translators composed through the API they share. A tiny fake inner
// translator (chat → an upstream that counts in its own way) shows what goes where: bodies
// through both, omissions from both, and the facts (usage) from the inner one only.
import t from 'tap'
import type { StreamEvent, Translator } from '../../src/core/translator.ts'
import { via } from '../../src/core/translate-via.ts'
import { responsesToChat } from '../../src/providers/openai/from-responses.ts'

type Json = Record<string, unknown>

/** chat → "upper": sends the chat messages upper-cased; answers `{text, tokens}`; streams `{piece}` events. */
function fakeInner(seen: Json[]): Translator {
  const usage = (tokens: number) => ({ input: tokens, output: 1, cacheRead: 0, cacheWrite: tokens, cacheWrite1h: 0, reasoning: 0 })
  return {
    ingress: 'chat',
    upstream: 'messages',
    request(body, model) {
      return { body: { model, upper: JSON.stringify(body.messages).toUpperCase() }, omitted: ['inner.thing'] }
    },
    response(upstream, request) {
      seen.push(request)
      const chat = {
        id: 'chatcmpl-x', object: 'chat.completion', created: 1, model: 'middle-model',
        choices: [{ index: 0, message: { role: 'assistant', content: upstream.text }, finish_reason: 'stop' }],
        // What the middle API can say: no cache writes.
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }
      return { body: chat, usage: usage(Number(upstream.tokens)), model: 'upstream-model', id: 'up-1', finishReasons: ['end_turn'] }
    },
    stream(request) {
      seen.push(request)
      let text = ''
      return {
        push(event, out) {
          text += String(event.data.piece)
          out.push({ data: { id: 'c', model: 'middle-model', choices: [{ index: 0, delta: { content: event.data.piece }, finish_reason: null }] } })
        },
        end(out) {
          out.push({ data: { id: 'c', model: 'middle-model', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] } })
        },
        facts: () => ({ usage: usage(text.length), model: 'upstream-model', id: 'up-2', finishReasons: ['end_turn'] }),
      }
    },
  }
}

const REQUEST = { model: 'claude', input: 'hello', tools: [{ type: 'web_search' }] }

t.test('the request goes through both translators; both sets of omissions are kept', async (t) => {
  const composed = via(responsesToChat, fakeInner([]))
  t.equal(composed.ingress, 'responses')
  t.equal(composed.upstream, 'messages')
  const { body, omitted } = composed.request(REQUEST, 'claude-x', false)
  t.same(body, { model: 'claude-x', upper: '[{"ROLE":"USER","CONTENT":"HELLO"}]' })
  t.same(omitted, ['tools.web_search', 'inner.thing'])
})

t.test('the answer comes back through both; the facts are the inner translator\'s', async (t) => {
  const seen: Json[] = []
  const composed = via(responsesToChat, fakeInner(seen))
  composed.request(REQUEST, 'claude-x', false)
  const answer = composed.response({ text: 'Hi!', tokens: 40 }, REQUEST)
  t.match(answer.body, { object: 'response', output: [{ type: 'message', content: [{ text: 'Hi!' }] }] })
  t.same(answer.usage?.cacheWrite, 40, 'the cache write only the inner translator could see')
  t.equal(answer.model, 'upstream-model')
  t.equal(answer.id, 'up-1')
  t.same(answer.finishReasons, ['end_turn'])
  t.same(seen, [{ model: 'claude-x', messages: [{ role: 'user', content: 'hello' }] }], 'the inner translator got the chat request it translated')
})

t.test('a body the composed translator never saw is translated again for the inner one', async (t) => {
  const seen: Json[] = []
  via(responsesToChat, fakeInner(seen)).response({ text: 'x', tokens: 1 }, { ...REQUEST })
  t.same(seen, [{ model: 'claude', messages: [{ role: 'user', content: 'hello' }] }])
})

t.test('stream events go through the inner then the outer translator; end() closes both', async (t) => {
  const composed = via(responsesToChat, fakeInner([]))
  composed.request(REQUEST, 'claude-x', true)
  const stream = composed.stream(REQUEST)
  const out: StreamEvent[] = []
  stream.push({ data: { piece: 'Hel' } }, out)
  stream.push({ data: { piece: 'lo' } }, out)
  stream.end(out)
  const deltas = out.filter((e) => e.event === 'response.output_text.delta').map((e) => e.data.delta)
  t.same(deltas, ['Hel', 'lo'])
  t.equal(out.at(-1)?.event, 'response.completed')
  t.match(out.at(-1)?.data.response, { status: 'completed', output: [{ content: [{ text: 'Hello' }] }] })
  t.same(stream.facts(), { usage: { input: 5, output: 1, cacheRead: 0, cacheWrite: 5, cacheWrite1h: 0, reasoning: 0 }, model: 'upstream-model', id: 'up-2', finishReasons: ['end_turn'] })
})

t.test('translators that do not meet in the middle are not composed', async (t) => {
  t.throws(() => via(responsesToChat, { ...fakeInner([]), ingress: 'responses' }), /Cannot compose/)
})
