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

t.test('at most maxBytes (two per character): older entries make room; one over a quarter of the bound is not kept', async (t) => {
  const size = JSON.stringify(response('a', 'x'.repeat(1000))).length * 2
  const store = new ResponseStore({ maxEntries: 100, maxBytes: size * 4 + 100 })
  store.put('a', response('a', 'x'.repeat(1000)))
  store.put('b', response('b', 'x'.repeat(1000)))
  store.put('c', response('c', 'x'.repeat(1000)))
  store.put('d', response('d', 'x'.repeat(1000)))
  store.put('e', response('e', 'x'.repeat(1000)))
  t.notOk(store.has('a'), 'the oldest made room')
  t.ok(store.has('b') && store.has('c') && store.has('e'))
  store.put('huge', response('huge', 'x'.repeat(size)))
  t.notOk(store.has('huge'), 'an entry over a quarter of the bound is not kept')
  t.ok(store.has('b') && store.has('c') && store.has('e'), 'and evicts nothing')
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

t.test('a conversation is kept turn by turn and read back whole; a hole in it ends it', async (t) => {
  const store = new ResponseStore({ maxEntries: 10, maxBytes: 1 << 20 })
  store.put('r1', { ...response('r1', 'one'), input: [{ role: 'user', content: 'q1' }] })
  store.put('r2', { ...response('r2', 'two'), input: [{ role: 'user', content: 'q2' }], previous: 'r1' })
  store.put('r3', { ...response('r3', 'three'), input: [{ role: 'user', content: 'q3' }], previous: 'r2' })
  const history = store.history('r3') as Array<{ content: unknown }>
  t.same(
    history.map((item) => (typeof item.content === 'string' ? item.content : (item.content as Array<{ text: string }>)[0]!.text)),
    ['q1', 'one', 'q2', 'two', 'q3', 'three'],
    'every turn, oldest first, each stored once',
  )
  t.equal(JSON.stringify(store.get('r3')).includes('q1'), false, 'a turn holds only its own input')
  store.delete('r2')
  t.equal(store.history('r3'), undefined, 'a conversation with a turn gone cannot be continued')
  t.same((store.history('r1') as unknown[]).length, 2, 'its first turn still can')
})

t.test('a cycle of previous links ends the walk', async (t) => {
  const store = new ResponseStore({ maxEntries: 10, maxBytes: 1 << 20 })
  store.put('x', { ...response('x'), previous: 'y' })
  store.put('y', { ...response('y'), previous: 'x' })
  t.equal(store.history('x'), undefined)
})
