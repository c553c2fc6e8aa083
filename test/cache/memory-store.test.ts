// The response cache's in-memory store (REDIS_URL unset): least recently used out first, bounded in
// bytes (what V8 takes to hold each answer, plus a fixed charge per entry), each entry expiring on
// its own; and the text an entry is kept as (a stream's events are not JSON in JSON).
import t from 'tap'
import { ENTRY_OVERHEAD, MemoryStore, stringBytes } from '../../src/core/cache/memory-store.ts'
import { decode, encode, type CachedAnswer } from '../../src/core/cache/response-cache.ts'

/** A store with a clock the test moves. */
function storeWith(maxBytes: number) {
  const clock = { now: 1_000_000 }
  return { store: new MemoryStore(maxBytes, () => clock.now), clock }
}

/** What an entry of `value` is charged under a key of `key` (one character unless given). */
const charge = (value: string, key = 'k') => stringBytes(value) + key.length + ENTRY_OVERHEAD

t.test('the least recently used entry goes first; a read counts as a use', async (t) => {
  const value = 'x'.repeat(1000)
  const { store } = storeWith(3 * charge(value))
  await store.set('a', value, 60)
  await store.set('b', value, 60)
  await store.set('c', value, 60)
  t.equal(store.size, 3, 'three fit exactly')
  t.equal(store.usedBytes, 3 * charge(value))
  t.equal(await store.get('a'), value, 'a read makes `a` the most recently used')
  await store.set('d', value, 60)
  t.equal(await store.get('b'), undefined, '`b`, the least recently used, made room for `d`')
  t.equal(await store.get('a'), value)
  t.equal(await store.get('c'), value)
  t.equal(await store.get('d'), value)
  t.equal(store.usedBytes, 3 * charge(value), 'the charges follow the entries')
})

t.test('a large entry evicts as many as it needs, oldest first', async (t) => {
  const small = 'y'.repeat(100)
  const { store } = storeWith(10 * charge(small))
  for (const key of 'abcdefghij') await store.set(key, small, 60)
  const large = 'z'.repeat(3 * charge(small))
  await store.set('L', large, 60)
  // `L` is charged 3 small entries' worth plus its own overhead: four went.
  for (const key of 'abcd') t.equal(await store.get(key), undefined, `${key} evicted`)
  for (const key of 'efghij') t.equal(await store.get(key), small, `${key} kept`)
  t.equal(await store.get('L'), large)
  t.ok(store.usedBytes <= 10 * charge(small), `within the bound (${store.usedBytes} bytes)`)
  t.equal(store.usedBytes, 6 * charge(small) + charge(large))
})

t.test('replacing an entry charges the new value only', async (t) => {
  const { store } = storeWith(100_000)
  await store.set('k', 'a'.repeat(5000), 60)
  await store.set('k', 'b'.repeat(2000), 60)
  t.equal(store.size, 1)
  t.equal(store.usedBytes, charge('b'.repeat(2000)))
  t.equal(await store.get('k'), 'b'.repeat(2000))
})

t.test('an entry larger than the whole store is not kept, and takes the one it replaces with it', async (t) => {
  const { store } = storeWith(10_000)
  await store.set('k', 'old', 60)
  await store.set('k', 'n'.repeat(20_000), 60)
  t.equal(await store.get('k'), undefined, 'no stale answer stays behind a newer one')
  t.equal(store.size, 0)
  t.equal(store.usedBytes, 0)
})

t.test('an entry expires after its TTL; reading it frees its bytes', async (t) => {
  const { store, clock } = storeWith(100_000)
  await store.set('short', 'a'.repeat(100), 1)
  await store.set('long', 'b'.repeat(100), 60)
  clock.now += 999
  t.equal(await store.get('short'), 'a'.repeat(100), 'alive just before its second is up')
  clock.now += 1
  t.equal(await store.get('short'), undefined, 'gone at its TTL')
  t.equal(store.size, 1)
  t.equal(store.usedBytes, charge('b'.repeat(100), 'long'), 'its bytes are free')
  t.equal(await store.get('long'), 'b'.repeat(100), 'the other keeps its own TTL')
  clock.now += 59_000
  t.equal(await store.get('long'), undefined)
  t.equal(store.usedBytes, 0)
})

t.test('an entry is charged what V8 takes to hold it, not its UTF-8 length', async (t) => {
  t.equal(stringBytes('abc'), 3, 'ASCII: a byte a character')
  t.equal(stringBytes('café'), 4, 'Latin-1: still a byte a character (UTF-8 would be 5)')
  t.equal(stringBytes(`${'a'.repeat(1000)}😀`), 2004, 'one emoji: two bytes for every character (UTF-8 would be 1004)')
  t.equal(stringBytes('你好'), 4, 'Chinese: two bytes a character (UTF-8 would be 6)')
  const { store } = storeWith(1_000_000)
  await store.set('e', `${'a'.repeat(1000)}😀`, 60)
  t.equal(store.usedBytes, 2004 + 1 + ENTRY_OVERHEAD)
})

t.test("a store of 0 bytes keeps nothing (and doesn't fail)", async (t) => {
  const { store } = storeWith(0)
  await store.set('k', 'v', 60)
  t.equal(await store.get('k'), undefined)
  t.equal(store.usedBytes, 0)
})

t.test("an entry's text: a JSON answer, or a stream's events each as they were, newlines and all", async (t) => {
  const facts = { provider: 'openai', model: 'gpt-4o-mini', finishReasons: ['stop'], storedAt: 1, usage: undefined }
  const json: CachedAnswer = { ...facts, json: { text: 'two\nlines', nested: { a: [1, '"quoted"'] } } }
  t.strictSame(await decode(await encode(json)), JSON.parse(JSON.stringify(json)))
  const events = [
    { event: 'message_start', data: '{"type":"message_start"}' },
    { event: undefined, data: '{"a":"with\\nescaped newline"}' },
    { event: undefined, data: '{\n"b": "data split over SSE lines"\n}' },
    { event: 'x', data: '' },
    { event: 'ping', data: '{"type":"ping","emoji":"😀"}' },
  ]
  const stream: CachedAnswer = { ...facts, events }
  const text = await encode(stream)
  t.notOk(text.includes('\\\\n'), 'event data is not escaped again')
  t.strictSame((await decode(text)).events, events)
  await t.rejects(decode(text.slice(0, -3)), /garbled/, 'a cut entry is refused (the lookup makes it a miss)')
  await t.rejects(decode(text.replace('"type":"ping"', '"type":"pong!"')), /garbled/, 'so is one whose lengths do not match')
})
