import t from 'tap'
import { emptyUsage } from '../../src/core/types.ts'
import type { Usage } from '../../src/core/types.ts'
import { computeCost, PriceBook, undatedModel } from '../../src/pricing/cost.ts'
import type { Price } from '../../src/pricing/cost.ts'
import type { PriceRow } from '../../src/pricing/prices.ts'
import { PRICES } from '../../src/providers/registry.ts'
import { loadFixture } from '../support/fixtures.ts'

const book = new PriceBook(PRICES)

function usage(fields: Partial<Usage>): Usage {
  return { ...emptyUsage(), ...fields }
}

function row(provider: PriceRow['provider'], model: string, input: number, output: number): PriceRow {
  return { provider, model, input, output, source: 'test', asOf: 'test' }
}

t.test('the price table', async (t) => {
  const seen = new Set<string>()
  for (const r of PRICES) {
    const key = `${r.provider}/${r.model}`
    t.notOk(seen.has(key), `${key} appears once`)
    seen.add(key)
    for (const field of ['input', 'output', 'cacheRead', 'cacheWrite', 'cacheWrite1h'] as const) {
      const rate = r[field]
      if (rate !== undefined) t.ok(Number.isFinite(rate) && rate >= 0, `${key} ${field} is a rate`)
    }
    t.ok(r.source.length > 0 && r.asOf.length > 0, `${key} says where its price came from`)
    if (r.provider === 'openai') t.equal(r.cacheWrite, undefined, `${key}: OpenAI bills cache writes as input`)
    if (r.provider === 'anthropic') {
      t.ok(r.cacheRead !== undefined && r.cacheWrite !== undefined && r.cacheWrite1h !== undefined, `${key} has all cache rates`)
    }
  }
  const required = [
    'openai/gpt-5', 'openai/gpt-5-mini', 'openai/gpt-5-nano', 'openai/gpt-4.1', 'openai/gpt-4.1-mini',
    'openai/gpt-4.1-nano', 'openai/gpt-4o', 'openai/gpt-4o-mini', 'openai/o1', 'openai/o3', 'openai/o3-mini',
    'openai/o4-mini', 'openai/gpt-4-turbo', 'openai/gpt-4', 'openai/gpt-4-0613', 'openai/gpt-3.5-turbo',
    'openai/gpt-3.5-turbo-0125', 'anthropic/claude-opus-4-5', 'anthropic/claude-opus-4-1', 'anthropic/claude-opus-4',
    'anthropic/claude-sonnet-4-5', 'anthropic/claude-sonnet-4', 'anthropic/claude-3-7-sonnet',
    'anthropic/claude-3-5-sonnet', 'anthropic/claude-haiku-4-5', 'anthropic/claude-3-5-haiku',
    'anthropic/claude-3-haiku', 'anthropic/claude-3-opus', 'demo/demo-chat', 'demo/demo-reasoner',
  ]
  for (const key of required) t.ok(seen.has(key), `${key} is priced`)
  for (const model of ['demo-chat', 'demo-reasoner']) {
    t.same(book.lookup('demo', model), { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0 }, `${model} is free`)
  }
})

t.test('date suffixes', async (t) => {
  t.equal(undatedModel('gpt-4o-mini-2024-07-18'), 'gpt-4o-mini')
  t.equal(undatedModel('claude-3-5-sonnet-20240620'), 'claude-3-5-sonnet')
  t.equal(undatedModel('gpt-3.5-turbo-0125'), 'gpt-3.5-turbo')
  t.equal(undatedModel('gpt-4o-mini'), undefined)
  t.equal(undatedModel('claude-opus-4-1'), undefined, 'a one-digit version is not a date')
  t.equal(undatedModel('gpt-4.1'), undefined)
})

t.test('lookup: exact id, then the id without its date, never a prefix', async (t) => {
  t.same(book.lookup('openai', 'gpt-4o-mini'), { input: 0.15, cacheRead: 0.075, output: 0.6 }, 'exact')
  t.same(book.lookup('openai', 'gpt-4o-mini-2024-07-18'), { input: 0.15, cacheRead: 0.075, output: 0.6 }, 'OpenAI dated id')
  t.same(book.lookup('openai', 'gpt-5-nano-2025-08-07'), { input: 0.05, cacheRead: 0.005, output: 0.4 }, 'OpenAI dated id')
  t.same(book.lookup('openai', 'gpt-3.5-turbo-0125'), { input: 0.5, output: 1.5 }, 'OpenAI four-digit snapshot')
  t.same(book.lookup('openai', 'gpt-4-0314'), { input: 30, output: 60 }, 'four-digit snapshot falls back to gpt-4')
  t.equal(book.lookup('anthropic', 'claude-3-5-sonnet-20240620')?.input, 3, 'Anthropic dated id')
  t.equal(book.lookup('anthropic', 'claude-sonnet-4-20250514')?.cacheWrite1h, 6, 'Anthropic dated id')
  t.equal(book.lookup('anthropic', 'claude-haiku-4-5-20251001')?.output, 5, 'Anthropic dated id')

  // A snapshot with its own row beats its alias.
  t.same(book.lookup('openai', 'gpt-4o-2024-05-13'), { input: 5, output: 15 }, 'exact snapshot row first')
  t.equal(book.lookup('openai', 'gpt-4o-2024-08-06')?.input, 2.5)

  // No prefix leak, checked on a book where the longer ids are absent so nothing can hide a leak.
  const small = new PriceBook([row('openai', 'gpt-4o', 2.5, 10), row('openai', 'gpt-4', 30, 60)])
  t.equal(small.lookup('openai', 'gpt-4o-mini'), undefined, 'gpt-4o does not price gpt-4o-mini')
  t.equal(small.lookup('openai', 'gpt-4o-mini-2024-07-18'), undefined, 'nor its dated id')
  t.equal(small.lookup('openai', 'gpt-4.1'), undefined, 'gpt-4 does not price gpt-4.1')
  t.equal(small.lookup('openai', 'gpt-4-turbo-2024-04-09'), undefined, 'nor gpt-4-turbo')
  t.equal(small.lookup('openai', 'gpt-4o-audio-preview'), undefined)
  t.equal(book.lookup('anthropic', 'claude-sonnet-4-5-20250929')?.input, 3)
  t.equal(book.lookup('anthropic', 'claude-sonnet-4-6-20260101')?.input, 3)
  t.equal(book.lookup('anthropic', 'claude-3-5-sonnet-latest'), undefined, 'aliases other than dates are not guessed')

  // Unknown → undefined.
  t.equal(book.lookup('openai', 'gpt-4-32k-0613'), undefined, 'undated id not in the table either')
  t.equal(book.lookup('openai', 'not-a-model'), undefined)
  t.equal(book.lookup('openai', 'claude-sonnet-4'), undefined, 'the table is per provider')
  t.equal(book.lookup('openrouter', 'gpt-4o'), undefined, 'an unknown provider has no table prices')
  t.equal(book.lookup('openai', ''), undefined)
})

t.test('overrides win over the table', async (t) => {
  const cheap: Price = { input: 1, output: 2 }
  const scoped: Price = { input: 3, output: 4, cacheRead: 0.3 }
  const custom = new PriceBook(PRICES, {
    'gpt-4o-mini': cheap,
    'anthropic/claude-sonnet-4': scoped,
    'my-local-model': { input: 0, output: 0 },
    'openai/gpt-4o': { input: 7, output: 8 },
    'gpt-4o': { input: 9, output: 10 },
    'meta-llama/llama-3': { input: 0.1, output: 0.2 },
  })
  t.same(custom.lookup('openai', 'gpt-4o-mini'), cheap, 'bare model key beats the table')
  t.same(custom.lookup('openai', 'gpt-4o-mini-2024-07-18'), cheap, 'and prices the dated id too')
  t.same(custom.lookup('azure', 'gpt-4o-mini'), cheap, 'a bare model key applies to any provider')
  t.same(custom.lookup('anthropic', 'claude-sonnet-4-20250514'), scoped, 'provider/model key')
  t.equal(custom.lookup('other', 'claude-sonnet-4'), undefined, 'provider/model key is scoped to its provider')
  t.same(custom.lookup('openai', 'gpt-4o'), { input: 7, output: 8 }, 'provider/model beats model')
  t.same(custom.lookup('openrouter', 'gpt-4o'), { input: 9, output: 10 }, 'model key elsewhere')
  t.same(custom.lookup('openai', 'gpt-4o-2024-05-13'), { input: 7, output: 8 }, 'an override beats even an exact table row')
  t.same(custom.lookup('ollama', 'my-local-model'), { input: 0, output: 0 }, 'a model the table lacks')
  t.same(custom.lookup('openrouter', 'meta-llama/llama-3'), { input: 0.1, output: 0.2 }, 'a model id with a slash')
  t.equal(custom.lookup('openai', 'gpt-4.1')?.input, 2, 'other models still come from the table')

  t.throws(() => new PriceBook(PRICES, { bad: { input: -1, output: 1 } }), TypeError)
  t.throws(() => new PriceBook(PRICES, { bad: { input: Number.NaN, output: 1 } }), TypeError)
  t.throws(() => new PriceBook(PRICES, { bad: { input: 1 } as unknown as Price }), TypeError)
  t.throws(() => new PriceBook(PRICES, { bad: null as unknown as Price }), TypeError)
  t.throws(() => new PriceBook([row('openai', 'x', 1, 1), row('openai', 'x', 2, 2)]), /Duplicate/)
})

t.test('cost of recorded exchanges, by hand', async (t) => {
  // Amounts below are in micro-dollars (tokens × USD per million) until the final ÷ 10^6.

  t.test('OpenAI prompt-cache hit (gpt-4o-mini-2024-07-18)', async (t) => {
    const meta = loadFixture('openai-chat-prompt-cache-hit-nonstream').meta
    t.match(meta.usage, { prompt_tokens: 1149, completion_tokens: 353, prompt_tokens_details: { cached_tokens: 1024 } })
    const u = usage({ input: 1149, cacheRead: 1024, output: 353 })
    const price = book.lookup('openai', 'gpt-4o-mini-2024-07-18')
    if (!price) throw new Error('unpriced')
    // input:  (1149 − 1024) = 125 uncached × 0.15 = 18.75;  1024 cached × 0.075 = 76.8
    //         18.75 + 76.8 = 95.55 µ$ = $0.00009555
    // output: 353 × 0.60 = 211.8 µ$ = $0.0002118
    // total:  95.55 + 211.8 = 307.35 µ$ = $0.00030735
    t.strictSame(computeCost(u, price), { input: 0.00009555, output: 0.0002118, total: 0.00030735 })
  })

  t.test('Anthropic cache write, 5-minute TTL (claude-3-5-sonnet-20240620)', async (t) => {
    const meta = loadFixture('anthropic-messages-cache-write-stream').meta
    t.match(meta.usage, {
      'message_start.message.usage': { input_tokens: 4, cache_creation_input_tokens: 1165 },
      'message_delta.usage': { output_tokens: 201 },
    })
    const u = usage({ input: 4 + 1165, cacheWrite: 1165, output: 201 })
    const price = book.lookup('anthropic', 'claude-3-5-sonnet-20240620')
    if (!price) throw new Error('unpriced')
    // input:  4 uncached × 3 = 12;  1165 written × 3.75 = 4368.75
    //         12 + 4368.75 = 4380.75 µ$ = $0.00438075
    // output: 201 × 15 = 3015 µ$ = $0.003015
    // total:  4380.75 + 3015 = 7395.75 µ$ = $0.00739575
    t.strictSame(computeCost(u, price), { input: 0.00438075, output: 0.003015, total: 0.00739575 })
  })

  t.test('Anthropic cache read (claude-3-5-sonnet-20240620)', async (t) => {
    const meta = loadFixture('anthropic-messages-cache-read-nonstream').meta
    t.match(meta.usage, { input_tokens: 4, cache_read_input_tokens: 1163, output_tokens: 202 })
    const u = usage({ input: 4 + 1163, cacheRead: 1163, output: 202 })
    const price = book.lookup('anthropic', 'claude-3-5-sonnet-20240620')
    if (!price) throw new Error('unpriced')
    // input:  4 uncached × 3 = 12;  1163 read × 0.30 = 348.9
    //         12 + 348.9 = 360.9 µ$ = $0.0003609
    // output: 202 × 15 = 3030 µ$ = $0.00303
    // total:  360.9 + 3030 = 3390.9 µ$ = $0.0033909
    t.strictSame(computeCost(u, price), { input: 0.0003609, output: 0.00303, total: 0.0033909 })
  })

  t.test('Anthropic cache write, 1-hour TTL (claude-sonnet-4-20250514)', async (t) => {
    const meta = loadFixture('anthropic-messages-cache-write-1h-ttl-nonstream').meta
    t.match(meta.usage, {
      input_tokens: 17,
      cache_creation_input_tokens: 2056,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2056 },
      output_tokens: 100,
    })
    const u = usage({ input: 17 + 2056, cacheWrite: 2056, cacheWrite1h: 2056, output: 100 })
    const price = book.lookup('anthropic', 'claude-sonnet-4-20250514')
    if (!price) throw new Error('unpriced')
    // input:  17 uncached × 3 = 51;  (2056 − 2056) = 0 at the 5m rate;  2056 × 6 (1h rate) = 12336
    //         51 + 12336 = 12387 µ$ = $0.012387
    // output: 100 × 15 = 1500 µ$ = $0.0015
    // total:  12387 + 1500 = 13887 µ$ = $0.013887
    t.strictSame(computeCost(u, price), { input: 0.012387, output: 0.0015, total: 0.013887 })
  })

  t.test('OpenAI reasoning (gpt-5-nano-2025-08-07)', async (t) => {
    const meta = loadFixture('openai-chat-reasoning-tokens-nonstream').meta
    t.match(meta.usage, { prompt_tokens: 11, completion_tokens: 138, completion_tokens_details: { reasoning_tokens: 128 } })
    const u = usage({ input: 11, output: 138, reasoning: 128 })
    const price = book.lookup('openai', 'gpt-5-nano-2025-08-07')
    if (!price) throw new Error('unpriced')
    // input:  11 × 0.05 = 0.55 µ$ = $0.00000055
    // output: 138 × 0.40 = 55.2 µ$ = $0.0000552 (the 128 reasoning tokens are inside the 138, not added)
    // total:  0.55 + 55.2 = 55.75 µ$ = $0.00005575
    t.strictSame(computeCost(u, price), { input: 0.00000055, output: 0.0000552, total: 0.00005575 })
  })
})

t.test('computeCost edge cases', async (t) => {
  // Missing cache rates fall back: cacheRead → input; cacheWrite → input; cacheWrite1h → cacheWrite → input.
  const plain: Price = { input: 2, output: 8 }
  // 1000 input of which 400 read, 300 written (100 of them 1h): every token at 2 → 2000 µ$.
  t.strictSame(computeCost(usage({ input: 1000, cacheRead: 400, cacheWrite: 300, cacheWrite1h: 100 }), plain), {
    input: 0.002, output: 0, total: 0.002,
  })
  const writeOnly: Price = { input: 2, output: 8, cacheWrite: 2.5 }
  // 300 uncached × 2 = 600; 300 written, 100 of them 1h, all at 2.5 = 750 → 1350 µ$.
  t.strictSame(computeCost(usage({ input: 600, cacheWrite: 300, cacheWrite1h: 100 }), writeOnly).input, 0.00135)

  // Uncached is floored at 0 when a provider reports more cached than total input.
  const anthropic: Price = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, cacheWrite1h: 6 }
  // 0 uncached; 100 read × 0.3 = 30 µ$.
  t.strictSame(computeCost(usage({ input: 50, cacheRead: 100 }), anthropic).input, 0.00003)

  // Free models cost nothing, whatever the usage.
  const demo = book.lookup('demo', 'demo-reasoner')
  if (!demo) throw new Error('unpriced')
  t.strictSame(computeCost(usage({ input: 123, output: 456, reasoning: 400, cacheRead: 20 }), demo), { input: 0, output: 0, total: 0 })
  t.strictSame(computeCost(emptyUsage(), anthropic), { input: 0, output: 0, total: 0 })

  // No float noise: 0.1 + 0.2-style sums come back as the decimal amount.
  const tenth: Price = { input: 0.1, output: 0.2 }
  t.equal(computeCost(usage({ input: 1, output: 1 }), tenth).total, 0.0000003)
  t.equal(computeCost(usage({ input: 3, output: 0 }), { input: 0.1, output: 0 }).input, 0.0000003)
})
