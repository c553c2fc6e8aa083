// The gateway's own store of Responses (for translated upstreams): bounded in entries and bytes,
// least recently used out first, and the items of an evicted or deleted response no longer
// resolve by reference.
import t from 'tap'
import { ResponseStore, inputItems } from '../../src/routes/responses/store.ts'

const response = (id: string, text = 'hi') => ({
  input: [{ role: 'user', content: 'q' }],
  response: { id, object: 'response', output: [{ id: `msg_${id}`, type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] }] },
})

t.test('at most maxEntries: the least recently used goes first, and a read counts as a use', async (t) => {
  const store = new ResponseStore({ maxEntries: 2, maxBytes: 1 << 20 })
  store.put('a', response('a'))
  store.put('b', response('b'))
  t.ok(store.get('a'), 'a read makes a the most recent')
  store.put('c', response('c'))
  t.ok(store.has('a'))
  t.notOk(store.has('b'), 'b, the least recently used, went')
  t.ok(store.has('c'))
  t.same([...store.itemsById(['msg_b']).keys()], [], "an evicted response's items no longer resolve")
  t.same([...store.itemsById(['msg_a', 'msg_c', 'msg_zz']).keys()].sort(), ['msg_a', 'msg_c'], 'the kept ones do; unknown ids are just absent')
})

t.test('at most maxBytes (two per character): older entries make room; one larger than the bound is not kept', async (t) => {
  const size = JSON.stringify(response('a', 'x'.repeat(1000))).length * 2
  const store = new ResponseStore({ maxEntries: 100, maxBytes: size * 2 })
  store.put('a', response('a', 'x'.repeat(1000)))
  store.put('b', response('b', 'x'.repeat(1000)))
  store.put('c', response('c', 'x'.repeat(1000)))
  t.notOk(store.has('a'), 'the oldest made room')
  t.ok(store.has('b') && store.has('c'))
  store.put('huge', response('huge', 'x'.repeat(size * 4)))
  t.notOk(store.has('huge'), 'an entry over the whole bound is not kept')
  t.ok(store.has('b') && store.has('c'), 'and evicts nothing')
})

t.test('delete forgets the response and its items; putting an id again replaces it', async (t) => {
  const store = new ResponseStore({ maxEntries: 10, maxBytes: 1 << 20 })
  store.put('a', response('a', 'first'))
  store.put('a', response('a', 'second'))
  t.match(store.get('a')?.response.output, [{ content: [{ text: 'second' }] }])
  t.ok(store.delete('a'))
  t.notOk(store.delete('a'), 'a second delete finds nothing')
  t.same(store.itemsById(['msg_a']).size, 0)
})

t.test('maxEntries 0 keeps nothing', async (t) => {
  const store = new ResponseStore({ maxEntries: 0, maxBytes: 1 << 20 })
  store.put('a', response('a'))
  t.notOk(store.has('a'))
})

t.test('inputItems: a string input is one user message', async (t) => {
  t.same(inputItems('hello'), [{ type: 'message', role: 'user', content: 'hello' }])
  t.same(inputItems(undefined), [])
})
