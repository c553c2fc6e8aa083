// The trace store as a span processor of a real SDK TracerProvider: what it keeps of a span, and
// how it stays bounded — by trace count, by bytes, per trace — evicting the oldest trace first.
// Evaluation spans are also listed with the trace they evaluate. Beside the exporter, it keeps the
// bytes the exporter encoded each span to.
import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Span } from '@opentelemetry/api'
import { TracerProvider } from '@opentelemetry/sdk-trace'
import { ExportResultCode } from '@opentelemetry/core'
import { SpanExportProcessor } from '../../src/telemetry/span-export.ts'
import { MAX_STORED_STRING_CHARS, TraceStore, type TraceStoreOptions } from '../../src/telemetry/trace-store.ts'

function setup(options: Partial<TraceStoreOptions> = {}) {
  const store = new TraceStore({ maxTraces: 1000, maxBytes: 64 * 1024 * 1024, ...options })
  const provider = new TracerProvider({ spanProcessors: [store] })
  const tracer = provider.getTracer('store-test')
  const start = (name: string, parent?: Span, attributes: Attributes = {}, kind = SpanKind.INTERNAL): Span =>
    tracer.startSpan(name, { kind, attributes }, parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT)
  /** A whole small trace (root + one child), ended; returns its trace id. */
  const request = (attributes: Attributes = {}): string => {
    const root = start('POST /v1/chat/completions', undefined, {}, SpanKind.SERVER)
    start('llm.request', root, attributes).end()
    root.end()
    return root.spanContext().traceId
  }
  return { store, start, request, tracer }
}

/** The exporter beside the store, with an export that succeeds at once and sends nothing. */
function quietExporter(options: ConstructorParameters<typeof SpanExportProcessor>[1]): SpanExportProcessor {
  return new SpanExportProcessor({ export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }), shutdown: () => Promise.resolve() }, options)
}

t.test('keeps each ended span as a plain record, nested ids intact', async (t) => {
  const { store, start } = setup()
  const root = start('POST /v1/chat/completions', undefined, { 'http.route': '/v1/chat/completions' }, SpanKind.SERVER)
  const child = start('llm.request', root, { 'llm.model': 'demo-chat', 'llm.tokens.input': 12, 'gen_ai.response.finish_reasons': ['stop'] })
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream said no' })
  child.end()
  root.end()
  const stored = store.get(root.spanContext().traceId)
  t.ok(stored, 'the trace is held')
  t.equal(stored!.spans.length, 2)
  const [first, second] = stored!.spans
  t.equal(first!.name, 'llm.request', 'in the order they ended')
  t.equal(first!.parent_span_id, root.spanContext().spanId)
  t.equal(first!.kind, 'INTERNAL')
  t.same(first!.status, { code: 'ERROR', message: 'upstream said no' })
  t.same(first!.attributes, { 'llm.model': 'demo-chat', 'llm.tokens.input': 12, 'gen_ai.response.finish_reasons': ['stop'] })
  t.equal(first!.scope, 'store-test')
  t.equal(second!.kind, 'SERVER')
  t.equal(second!.parent_span_id, null, 'a root has no parent')
  t.match(second!.start_time_unix_nano, /^\d{19}$/, 'start in nanoseconds, as a string')
  t.ok(Math.abs(second!.start_ms - Date.now()) < 5000, 'start_ms is epoch milliseconds')
  t.ok(second!.duration_ms >= first!.duration_ms, 'the root lasts at least as long as its child')
  t.same(JSON.parse(JSON.stringify(stored)), stored, 'records are plain JSON')
  t.equal(store.get('0'.repeat(31) + '1'), undefined, 'an unknown trace is undefined')
})

t.test('evicts the oldest trace beyond TRACE_STORE_MAX_TRACES', async (t) => {
  const { store, request } = setup({ maxTraces: 3 })
  const ids = Array.from({ length: 5 }, () => request())
  t.equal(store.stats().traces, 3)
  t.equal(store.stats().evicted_traces, 2)
  t.notOk(store.has(ids[0]!), 'the first is gone')
  t.notOk(store.has(ids[1]!), 'the second is gone')
  for (const id of ids.slice(2)) t.ok(store.has(id), 'the last three are held')
  t.same(store.recent(10).map((s) => s.trace_id), ids.slice(2).reverse(), 'recent() lists them newest first')
  t.same(store.recent(1).map((s) => s.trace_id), [ids[4]], 'at most limit')
})

t.test('a trace that receives a span moves to the back of the eviction queue', async (t) => {
  const { store, start, request } = setup({ maxTraces: 2 })
  const longRoot = start('POST /v1/agents/reasoning', undefined, {}, SpanKind.SERVER)
  start('reasoning.thinking.iteration_1', longRoot).end() // the long trace is written first …
  const quick = request() // … a quick one after it …
  longRoot.end() // … then the long one ends
  const next = request() // a third trace evicts the quick one, written longest ago
  t.ok(store.has(longRoot.spanContext().traceId), 'the long trace, written last, stays')
  t.notOk(store.has(quick), 'the quick one went')
  t.ok(store.has(next))
})

t.test('an evicted trace leaves nothing to the trace written after it (entries are written again)', async (t) => {
  const { store, start, request, tracer } = setup({ maxTraces: 1 })
  // A trace of five spans, an evaluation of it in a trace of its own, then a long trace of 40.
  const evaluated = request()
  const five = start('POST /v1/agents/reasoning', undefined, {}, SpanKind.SERVER)
  for (let i = 1; i <= 4; i++) start(`reasoning.thinking.iteration_${i}`, five).end()
  five.end()
  t.notOk(store.has(evaluated), 'a trace of its own evicted the first')
  // An evaluation of the five-span trace, listed with it as that trace is evicted by the evaluation's own.
  const link = { context: five.spanContext(), attributes: { 'link.type': 'evaluation' } }
  const evaluation = tracer.startSpan('evaluation relevance', { links: [link] }, ROOT_CONTEXT)
  evaluation.end()
  const long = start('POST /v1/agents/reasoning', undefined, {}, SpanKind.SERVER)
  for (let i = 1; i <= 40; i++) start(`step ${i}`, long).end()
  long.end()
  const longHeld = store.get(long.spanContext().traceId)!
  t.equal(longHeld.spans.length, 41, 'the long trace after it: its own 41 spans')
  t.same(longHeld.evaluations, [], 'and not the evaluation of the trace before')
  const one = start('GET /health', undefined, {}, SpanKind.SERVER)
  one.end()
  const held = store.get(one.spanContext().traceId)!
  t.same(held.spans.map((span) => span.name), ['GET /health'], 'the next trace: its one span, none left by the one before')
  t.same(held.evaluations, [], 'no evaluation left either')
  t.equal(held.dropped_spans, 0)
  t.equal(store.stats().traces, 1)
  t.equal(store.stats().evicted_traces, 4)
  const again = request()
  t.same(store.get(again)!.spans.map((span) => span.name), ['llm.request', 'POST /v1/chat/completions'])
  t.same(store.recent(5).map((trace) => trace.trace_id), [again], 'listed alone')
})

t.test('an evicted trace that had a buffer of its own and dropped spans leaves neither to the next', async (t) => {
  // 64 KiB: chunks of 4 KiB, so a span of 2 KB goes to the trace's own buffer; 3 spans a trace at most.
  const options = { maxTraces: 1, maxBytes: 64 * 1024, maxSpansPerTrace: 3 }
  const { store, start, request } = setup(options)
  const big = start('POST /v1/agents/reasoning', undefined, {}, SpanKind.SERVER)
  for (let i = 1; i <= 5; i++) start(`step ${i}`, big, { text: 'x'.repeat(2000) }).end()
  big.end()
  t.equal(store.get(big.spanContext().traceId)!.dropped_spans, 3, 'the big trace kept 3 of its 6 spans')
  request() // evicts the big trace, whose entry the next new trace takes
  const next = request()
  const held = store.get(next)!
  t.same(held.spans.map((span) => span.name), ['llm.request', 'POST /v1/chat/completions'])
  t.equal(held.dropped_spans, 0, 'none of the big trace\'s drops')
  const fresh = setup(options)
  fresh.request()
  t.equal(store.stats().bytes, fresh.store.stats().bytes, 'counted as the same trace in a store that held nothing before')
})

t.test('text V8 stores two bytes a character (CJK, emoji) counts twice: the byte bound holds for it too', async (t) => {
  // Spans of three strings of 30,000 characters (under the store's cut): each span over a quarter of
  // the store's 256 KiB chunks, so in a buffer of its own.
  const { store, request } = setup()
  const texts = (c: string) => ({ a: c.repeat(30_000), b: c.repeat(30_000), c: c.repeat(30_000) })
  const before = store.stats().bytes
  request(texts('x'))
  const latin = store.stats().bytes - before
  request(texts('漢'))
  const cjk = store.stats().bytes - before - latin
  t.ok(cjk - latin >= 90_000, `90,000 CJK characters (270,000 bytes of UTF-8) count at least 90,000 bytes more than 90,000 Latin ones (${cjk} against ${latin})`)
})

t.test('evicts the oldest traces beyond TRACE_STORE_MAX_BYTES', async (t) => {
  const maxBytes = 256 * 1024
  const { store, request } = setup({ maxBytes })
  const ids: string[] = []
  for (let i = 0; i < 200; i++) {
    ids.push(request({ 'gen_ai.output.messages': 'x'.repeat(8000), index: i }))
    t.ok(store.stats().bytes <= maxBytes, `within the bound after trace ${i}`)
  }
  const held = store.stats().traces
  t.ok(held > 10 && held < 40, `about maxBytes / 8 KB traces are held (${held})`)
  t.ok(store.has(ids.at(-1)!), 'the newest is held')
  t.notOk(store.has(ids[0]!), 'the oldest is gone')
  const heldIds = ids.filter((id) => store.has(id))
  t.same(heldIds, ids.slice(ids.length - held), 'exactly the newest ones are held')
})

t.test('one trace cannot take the whole store: per-trace span and byte caps', async (t) => {
  const { store, start, request } = setup({ maxSpansPerTrace: 10, maxBytes: 400 * 1024 })
  const others = Array.from({ length: 5 }, () => request())
  const root = start('POST /v1/agents/reasoning', undefined, {}, SpanKind.SERVER)
  for (let i = 0; i < 25; i++) start(`reasoning.tool.t${i}`, root).end()
  root.end()
  const big = store.get(root.spanContext().traceId)!
  t.equal(big.spans.length, 10, 'spans beyond the cap are not kept')
  t.equal(big.dropped_spans, 16, 'and are counted (the root too)')

  const fat = start('POST /v1/chat/completions', undefined, {}, SpanKind.SERVER)
  for (let i = 0; i < 8; i++) start('llm.request', fat, { 'gen_ai.input.messages': 'y'.repeat(30_000) }).end()
  fat.end()
  const fatTrace = store.get(fat.spanContext().traceId)!
  t.ok(fatTrace.dropped_spans > 0, 'a trace stops growing at a quarter of TRACE_STORE_MAX_BYTES')
  for (const id of others) t.ok(store.has(id), 'and the other traces stay')
})

t.test('over-long strings are cut in the store (not in the export)', async (t) => {
  const { store, start } = setup()
  const attributes = { 'gen_ai.input.messages': 'z'.repeat(MAX_STORED_STRING_CHARS + 500), short: 'ok' }
  const span = start('llm.request', undefined, attributes)
  span.end()
  const stored = store.get(span.spanContext().traceId)!.spans[0]!
  const value = stored.attributes['gen_ai.input.messages'] as string
  t.ok(value.length < MAX_STORED_STRING_CHARS + 200)
  t.match(value, /500 more characters not kept by the trace store\]$/)
  t.equal(stored.attributes.short, 'ok')
  t.equal(attributes['gen_ai.input.messages'].length, MAX_STORED_STRING_CHARS + 500, "the span's own attributes are untouched")
})

t.test('stored strings keep no larger string alive (V8 slices pin their source)', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const heapAfterGc = () => {
    gc()
    gc()
    return process.memoryUsage().heapUsed
  }
  const { store } = setup()
  const tracer = new TracerProvider({ spanProcessors: [store] }).getTracer('retention')
  /** A fresh 1 MB string of lowercase hex (so slices of it are valid ids too). */
  const source = (i: number) => `${i.toString(16).padStart(8, '0')}${'a'.repeat(1024 * 1024)}`
  // Each way a string reaches the store, fed slices of 1 MB sources: 20 spans each.
  const ways: Record<string, (big: string) => void> = {
    'span name': (big) => tracer.startSpan(big.slice(0, 40)).end(),
    'short attribute value': (big) => tracer.startSpan('s', { attributes: { 'gen_ai.request.model': big.slice(0, 40) } }).end(),
    'over-long attribute value (cut)': (big) => tracer.startSpan('s', { attributes: { 'gen_ai.input.messages': big.slice(0, 100_000) } }).end(),
    'string in an array': (big) => tracer.startSpan('s', { attributes: { 'gen_ai.response.finish_reasons': ['stop', big.slice(0, 40)] } }).end(),
    'status message': (big) => {
      const span = tracer.startSpan('s')
      span.setStatus({ code: SpanStatusCode.ERROR, message: `upstream said: ${big.slice(0, 40)}` })
      span.end()
    },
    'link ids and attributes': (big) =>
      tracer.startSpan('evaluation x', {
        links: [{ context: { traceId: big.slice(0, 32), spanId: big.slice(0, 16), traceFlags: TraceFlags.SAMPLED }, attributes: { 'link.type': 'evaluation', case: big.slice(0, 40) } }],
      }).end(),
    "a remote parent's trace and span id": (big) => {
      const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: big.slice(0, 32), spanId: big.slice(8, 24), traceFlags: TraceFlags.SAMPLED, isRemote: true })
      tracer.startSpan('s', {}, parent).end()
    },
  }
  let i = 0
  for (const [way, feed] of Object.entries(ways)) {
    const before = heapAfterGc()
    for (let n = 0; n < 20; n++) feed(source(i++))
    const growth = (heapAfterGc() - before) / 1024 / 1024
    t.ok(growth < 4, `${way}: the heap grew by ${growth.toFixed(1)} MB for 20 spans (20 MB if the sources were kept)`)
  }
  t.ok(store.stats().traces > 100, 'every span was stored')
  const [kept] = store.recent(1)
  t.equal(kept!.spans[0]!.parent_span_id, 'aaaaaaaaaaaaaaaa', 'the values are intact')
  t.equal(kept!.trace_id, `${(i - 1).toString(16).padStart(8, '0')}${'a'.repeat(24)}`)
})

t.test('an evaluation span is listed with the trace it evaluates', async (t) => {
  const { store, start, request } = setup()
  const generation = request()
  const generationSpan = store.get(generation)!.spans[0]!
  const link = (traceId: string, attributes: Attributes) => ({
    context: { traceId, spanId: generationSpan.span_id, traceFlags: TraceFlags.SAMPLED, isRemote: true },
    attributes,
  })
  const tracer = new TracerProvider({ spanProcessors: [store] }).getTracer('evaluations')
  const evaluation = tracer.startSpan('evaluation helpfulness', {
    attributes: { 'evaluation.name': 'helpfulness', 'evaluation.accuracy.score': 0.75 },
    links: [link(generation, { 'link.type': 'evaluation', case_id: 47 })],
  })
  evaluation.end()
  const unrelated = tracer.startSpan('batch', { links: [link(generation, { 'link.type': 'pipeline_stage' })] })
  unrelated.end()
  const missing = tracer.startSpan('evaluation late', { links: [link('a'.repeat(32), { 'link.type': 'evaluation' })] })
  missing.end()

  const stored = store.get(generation)!
  t.equal(stored.evaluations.length, 1, 'only the evaluation link counts')
  t.equal(stored.evaluations[0]!.name, 'evaluation helpfulness')
  t.same(stored.evaluations[0]!.links[0], { trace_id: generation, span_id: generationSpan.span_id, attributes: { 'link.type': 'evaluation', case_id: 47 } })
  t.equal(stored.spans.length, 2, 'not mixed into the generation span tree')
  t.ok(store.get(evaluation.spanContext().traceId), 'the evaluation is in its own trace too')
  t.ok(store.get(missing.spanContext().traceId), 'an evaluation of a trace not held is kept in its own trace')
})

t.test('TRACE_STORE_MAX_TRACES=0: the store keeps nothing', async (t) => {
  const { store, request } = setup({ maxTraces: 0 })
  const id = request()
  t.notOk(store.enabled)
  t.notOk(store.has(id))
  t.equal(store.stats().traces, 0)
  t.equal(store.stats().bytes, 0)
})

t.test('bounds hold under interleaved traces (many requests at once)', async (t) => {
  const maxBytes = 200 * 1024
  const { store, start } = setup({ maxTraces: 40, maxBytes })
  // 100 traces open at once, their spans ending interleaved, as concurrent requests do.
  const roots = Array.from({ length: 100 }, (_, i) => start(`POST /r${i}`, undefined, {}, SpanKind.SERVER))
  for (let round = 0; round < 5; round++) {
    for (const root of roots) start('llm.request', root, { round, text: 'w'.repeat(200) }).end()
    t.ok(store.stats().traces <= 40 && store.stats().bytes <= maxBytes, `bounded after round ${round}`)
  }
  for (const root of roots) root.end()
  const held = roots.filter((root) => store.has(root.spanContext().traceId))
  t.ok(held.length > 0 && held.length <= 40)
  for (const root of held) {
    const stored = store.get(root.spanContext().traceId)!
    t.ok(stored.spans.every((s) => s.trace_id === root.spanContext().traceId), 'no span lands in another trace')
  }
})

t.test('within the bounds, interleaved traces are each kept whole', async (t) => {
  const { store, start } = setup({ maxTraces: 40 })
  const roots = Array.from({ length: 30 }, (_, i) => start(`POST /r${i}`, undefined, {}, SpanKind.SERVER))
  for (let round = 0; round < 5; round++) for (const root of roots) start('llm.request', root, { round }).end()
  for (const root of roots) root.end()
  for (const root of roots) {
    const stored = store.get(root.spanContext().traceId)
    t.equal(stored?.spans.length, 6, 'its root and its five children')
    t.same(stored?.spans.filter((s) => s.parent_span_id === root.spanContext().spanId).map((s) => s.attributes.round), [0, 1, 2, 3, 4])
  }
})

t.test("beside the exporter, the store keeps the bytes the exporter encoded: the same spans as its own encoding", async (t) => {
  const exported: number[] = []
  // A queue of one span: the first leaves at once, the second waits, the rest find the queue full
  // and are dropped by the exporter; the store encodes those itself.
  const exporter = new SpanExportProcessor(
    { export: (spans, done) => (exported.push(spans.spanCount), done({ code: ExportResultCode.SUCCESS })), shutdown: () => Promise.resolve() },
    { maxQueueSize: 1, maxExportBatchSize: 1, scheduledDelayMillis: 60_000 },
  )
  const shared = new TraceStore({ maxTraces: 1000, maxBytes: 64 * 1024 * 1024 })
  shared.useEncodedSpans(exporter)
  const own = new TraceStore({ maxTraces: 1000, maxBytes: 64 * 1024 * 1024 })
  const tracer = new TracerProvider({ spanProcessors: [exporter, shared, own] }).getTracer('both')
  const root = tracer.startSpan('POST /v1/chat/completions', { kind: SpanKind.SERVER, attributes: { 'http.route': '/v1/chat/completions', 'server.port': 8080 } })
  const parent = trace.setSpan(ROOT_CONTEXT, root)
  const failed = tracer.startSpan('llm.request', { attributes: { 'llm.model': 'gpt-4o-mini', 'llm.cost.total': 0.000123, 'gen_ai.response.finish_reasons': ['stop', 'length'], negative: -5 } }, parent)
  failed.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream said no: 漢字 🙂' })
  failed.end()
  const long = tracer.startSpan('llm.openai.chat', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.input.messages': 'q'.repeat(MAX_STORED_STRING_CHARS + 10), streaming: true } }, parent)
  long.end()
  tracer.startSpan('evaluation x', { links: [{ context: root.spanContext(), attributes: { 'link.type': 'pipeline_stage', case_id: 3 } }] }, parent).end()
  tracer.startSpan('after the queue filled', {}, parent).end()
  root.end()
  const traceId = root.spanContext().traceId
  t.same(shared.get(traceId), own.get(traceId), 'every span reads back the same from either')
  const spans = shared.get(traceId)!.spans
  t.equal(spans.length, 5)
  t.same(spans[0]!.attributes, { 'llm.model': 'gpt-4o-mini', 'llm.cost.total': 0.000123, 'gen_ai.response.finish_reasons': ['stop', 'length'], negative: -5 }, 'doubles, arrays and negative integers as set')
  t.same(spans[0]!.status, { code: 'ERROR', message: 'upstream said no: 漢字 🙂' })
  t.match(spans[1]!.attributes['gen_ai.input.messages'], /10 more characters not kept by the trace store\]$/, 'the exported span was whole, the stored one is cut')
  t.same(spans[2]!.links, [{ trace_id: traceId, span_id: root.spanContext().spanId, attributes: { 'link.type': 'pipeline_stage', case_id: 3 } }])
  t.equal(spans[4]!.name, 'POST /v1/chat/completions', 'a span the exporter dropped is stored all the same')
  t.equal(spans[4]!.kind, 'SERVER')
  await exporter.forceFlush()
  t.same(exported, [1, 1], 'the exporter sent two spans (and dropped three)')
})

t.test('beside the exporter, a trace reads back whole after its batches left (their buffers are written again)', async (t) => {
  // Batches of 3 spans leave as they fill and their buffers take later spans: what the store keeps
  // must not change, whether a trace's spans lie in one batch, straddle two, or keep coming after many others.
  const exporter = quietExporter({ maxQueueSize: 100, maxExportBatchSize: 3, scheduledDelayMillis: 60_000 })
  const shared = new TraceStore({ maxTraces: 1000, maxBytes: 64 * 1024 * 1024 })
  shared.useEncodedSpans(exporter)
  const own = new TraceStore({ maxTraces: 1000, maxBytes: 64 * 1024 * 1024 })
  const tracer = new TracerProvider({ spanProcessors: [exporter, shared, own] }).getTracer('both')
  const long = tracer.startSpan('agent run', { kind: SpanKind.SERVER })
  const roots = []
  for (let i = 0; i < 40; i++) {
    const root = tracer.startSpan(`POST /r${i}`, { kind: SpanKind.SERVER, attributes: { i } })
    const parent = trace.setSpan(ROOT_CONTEXT, root)
    for (let j = 0; j <= i % 4; j++) tracer.startSpan('llm.request', { attributes: { i, j, text: `answer ${i}.${j} `.repeat(i) } }, parent).end()
    root.end()
    roots.push(root)
    tracer.startSpan('agent step', { attributes: { step: i } }, trace.setSpan(ROOT_CONTEXT, long)).end()
    await new Promise((resolve) => setImmediate(resolve)) // a full batch leaves in a turn of its own
  }
  long.end()
  await exporter.forceFlush()
  for (const root of [...roots, long]) {
    const traceId = root.spanContext().traceId
    t.same(shared.get(traceId), own.get(traceId), `${(root as unknown as { name: string }).name} reads back as its own encoding`)
  }
  t.equal(shared.get(long.spanContext().traceId)!.spans.length, 41, 'the long trace: its 40 steps and its root')
})

t.test('spans the store encodes itself, each over a quarter of its buffer, keep their own bytes', async (t) => {
  // No exporter: the store encodes every span; one of 20,000 characters (not cut) goes to a buffer
  // of its own, and the next must not write over it.
  const { store, start } = setup({ maxTraces: 10 })
  const root = start('POST /v1/chat/completions', undefined, {}, SpanKind.SERVER)
  start('llm.request', root, { 'gen_ai.input.messages': 'a'.repeat(20_000) }).end()
  start('llm.request', root, { 'gen_ai.input.messages': 'b'.repeat(20_000) }).end()
  root.end()
  const spans = store.get(root.spanContext().traceId)!.spans
  t.same(spans.map((s) => String(s.attributes['gen_ai.input.messages'] ?? '').slice(0, 3)), ['aaa', 'bbb', ''], 'each span reads back as written')
  t.equal(String(spans[0]!.attributes['gen_ai.input.messages']).length, 20_000)
})

t.test('beside the exporter, the store keeps copies in chunks of its own, counted whole, never the batch buffers', async (t) => {
  const exporter = quietExporter({ maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 60_000 })
  const store = new TraceStore({ maxTraces: 1000, maxBytes: 64 * 1024 * 1024 })
  store.useEncodedSpans(exporter)
  const tracer = new TracerProvider({ spanProcessors: [exporter, store] }).getTracer('both')
  // One trace whose prompt is kept whole by the exporter (a batch buffer past 2 MB), and cut by the store.
  const big = tracer.startSpan('llm.request', { attributes: { 'gen_ai.input.messages': 'p'.repeat(2 * 1024 * 1024) } })
  big.end()
  const small = tracer.startSpan('GET /v1/models', { kind: SpanKind.SERVER })
  small.end()
  const held = store.stats().bytes
  t.ok(held >= 256 * 1024, `a chunk counts whole, 256 KiB, from its first span (${held} bytes held)`)
  t.ok(held < 300 * 1024, `the batch holding the 2 MB prompt is not kept (${held} bytes held)`)
  t.match(store.get(big.spanContext().traceId)!.spans[0]!.attributes['gen_ai.input.messages'], /not kept by the trace store\]$/)
  for (let i = 0; i < 100; i++) tracer.startSpan(`GET /r${i}`, { kind: SpanKind.SERVER }).end()
  // Per trace its entry (400) and per span its record (96), the estimate's constants: no other chunk.
  t.equal(store.stats().bytes - held, 100 * (400 + 96), 'more spans in the same chunk add their records, not another chunk')
  await exporter.forceFlush()
})

t.test('chunks no trace points into any more are written again, and the traces held read back intact', async (t) => {
  // 64 KiB of store: 4 KiB chunks, each holding a few traces; evictions free chunks, which take new spans.
  const maxBytes = 64 * 1024
  const { store, start } = setup({ maxTraces: 1000, maxBytes })
  const names: Record<string, string> = {}
  for (let i = 0; i < 2_000; i++) {
    const root = start(`POST /r${i}`, undefined, { i }, SpanKind.SERVER)
    start('llm.request', root, { i, text: `${i} `.repeat(20 + (i % 50)) }).end()
    root.end()
    names[root.spanContext().traceId] = `POST /r${i}`
    t.ok(store.stats().bytes <= maxBytes || i === 0, `within the bound after trace ${i}`)
  }
  const held = store.recent(1000)
  t.ok(held.length > 10, `${held.length} traces held`)
  for (const trace of held) {
    const [child, root] = trace.spans
    t.equal(root!.name, names[trace.trace_id], 'its root, as written')
    t.equal(child!.attributes.i, root!.attributes.i, 'its child, as written')
    t.equal(child!.attributes.text, `${child!.attributes.i} `.repeat(20 + (Number(child!.attributes.i) % 50)))
  }
})
