// Span names made from parts (src/telemetry/names.ts) are made once and kept, up to a bound: past
// it, and for any mix of parts, each name must still be the one its parts make.
import t from 'tap'
import { onceMade, SPAN } from '../../src/telemetry/names.ts'

t.test('names of two parts do not mix up parts that run together (before the table is full)', async (t) => {
  t.equal(onceMade('a b', 'c', () => 'first'), 'first')
  t.equal(onceMade('a', 'b c', () => 'second'), 'second')
  t.equal(onceMade('a b', 'c', () => 'made again'), 'first', 'kept once made')
})

t.test('provider call names: right for every provider, kind and count of providers, past the bound too', async (t) => {
  let wrong = 0
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 1500; i++) {
      const provider = `provider-${i}`
      if (SPAN.providerCall(provider, false) !== `llm.${provider}.chat`) wrong++
      if (SPAN.providerCall(provider, true) !== `llm.${provider}.stream`) wrong++
      if (SPAN.providerCall(provider, false, 'embeddings') !== `llm.${provider}.embeddings`) wrong++
    }
  }
  t.equal(wrong, 0)
  t.equal(SPAN.providerCall('openai', true, 'embeddings'), 'llm.openai.stream', 'a stream is named a stream')
})
