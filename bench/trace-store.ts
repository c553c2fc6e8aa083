// How much memory and time the trace store costs: 10,000 realistic traces (chat and agent runs,
// with the attributes the gateway really sets) through a real SDK TracerProvider whose only span
// processors are the gateway's span exporter (its export a no-op) and a TraceStore that keeps the
// bytes the exporter encoded, as in the gateway. Heap (JS heap and array buffers) after 0 / 1k / 5k /
// 10k traces, per bound, and the store's share of the time per span (against the exporter alone).
//
//   node --expose-gc bench/trace-store.ts
import { ROOT_CONTEXT, SpanKind, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api'
import { TracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace'
import { ExportResultCode } from '@opentelemetry/core'
import { SpanExportProcessor } from '../src/telemetry/span-export.ts'
import { TraceStore } from '../src/telemetry/trace-store.ts'

const TRACES = 10_000
const CHECKPOINTS = [0, 1_000, 5_000, 10_000]
const gc = (globalThis as { gc?: () => void }).gc

function heapMiB(): number {
  if (gc) {
    gc()
    gc()
  }
  // The store keeps each span as bytes: a Uint8Array's contents are counted under arrayBuffers.
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return (heapUsed + arrayBuffers) / 1024 / 1024
}

/** The gateway's span exporter with an export that does nothing, and the store reading its bytes. */
function processors(store: TraceStore | undefined): SpanProcessor[] {
  const exporter = new SpanExportProcessor({ export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }), shutdown: () => Promise.resolve() })
  store?.useEncodedSpans(exporter)
  return store ? [exporter, store] : [exporter]
}

const child = (tracer: Tracer, name: string, parent: Span, attributes: Attributes, kind = SpanKind.INTERNAL): Span =>
  tracer.startSpan(name, { kind, attributes }, trace.setSpan(ROOT_CONTEXT, parent))

/** The llm.request subtree as the gateway records it: llm.request → provider CLIENT → HTTP POST. */
function llmCall(tracer: Tracer, parent: Span, i: number, streaming: boolean): number {
  const request = child(tracer, 'llm.request', parent, {
    'llm.model': 'gpt-4o-mini', 'llm.provider': 'openai', 'llm.operation': 'chat', 'llm.messages.count': 3,
    'llm.streaming': streaming, 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.request.stream': streaming, 'server.address': 'api.openai.com', 'server.port': 443,
  })
  const provider = child(tracer, streaming ? 'llm.openai.stream' : 'llm.openai.chat', request, {
    'llm.streaming': streaming, 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini', 'server.address': 'api.openai.com', 'server.port': 443,
  }, SpanKind.CLIENT)
  child(tracer, 'POST', provider, {
    'http.request.method': 'POST', 'url.full': 'https://api.openai.com/v1/chat/completions', 'url.path': '/v1/chat/completions',
    'url.scheme': 'https', 'server.address': 'api.openai.com', 'server.port': 443, 'user_agent.original': 'OpenAI/JS 6.9.1',
    'network.peer.address': '162.159.140.245', 'network.peer.port': 443, 'http.response.status_code': 200,
  }, SpanKind.CLIENT).end()
  provider.end()
  request.setAttributes({
    'llm.tokens.input': 120 + (i % 50), 'llm.tokens.output': 40, 'llm.tokens.total': 160 + (i % 50), 'llm.tokens.cache_read': 0,
    'llm.tokens.cache_write': 0, 'llm.cost.total': 0.000042, 'llm.cost.input': 0.000018, 'llm.cost.output': 0.000024,
    'llm.response.finish_reason': 'stop', 'gen_ai.response.finish_reasons': ['stop'], 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    'gen_ai.response.id': `chatcmpl-${i.toString(36)}abcdefghijklmnop`, 'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.output_tokens': 40,
    'gen_ai.usage.cache_read.input_tokens': 0, 'gen_ai.usage.cache_creation.input_tokens': 0, 'llm.time_to_first_token': 0.31,
  })
  request.end()
  return 3
}

function server(tracer: Tracer, route: string): Span {
  return tracer.startSpan(`POST ${route}`, {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'POST', 'url.path': route, 'url.scheme': 'http', 'server.address': '127.0.0.1', 'server.port': 8080,
      'network.peer.address': '127.0.0.1', 'network.peer.port': 51234, 'user_agent.original': 'OpenAI/Python 1.99.0', 'http.route': route,
    },
  }, ROOT_CONTEXT)
}

/** One trace: every third an agent run (9 spans), the others a chat completion (4 spans). */
function oneTrace(tracer: Tracer, i: number): number {
  if (i % 3 !== 0) {
    const root = server(tracer, '/v1/chat/completions')
    const spans = llmCall(tracer, root, i, i % 2 === 0)
    root.setAttribute('http.response.status_code', 200)
    root.end()
    return spans + 1
  }
  const root = server(tracer, '/v1/agents/reasoning')
  const agent = child(tracer, 'llm.reasoning_agent.stream', root, {
    'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'reasoning_agent', 'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini', 'llm.model': 'gpt-4o-mini', 'llm.provider': 'openai', 'llm.reasoning.effort': 'medium',
  })
  let spans = 2
  for (const index of [1, 2]) {
    const iteration = child(tracer, `reasoning.thinking.iteration_${index}`, agent, { 'reasoning.iteration': index })
    spans += llmCall(tracer, iteration, i, true) + 1
    iteration.setAttribute('reasoning.thinking.content_length', 180)
    iteration.end()
    if (index === 1) {
      child(tracer, 'reasoning.tool.calculator', agent, {
        'gen_ai.operation.name': 'execute_tool', 'tool.name': 'calculator', 'tool.arguments_count': 1, 'gen_ai.tool.name': 'calculator',
        'gen_ai.tool.call.id': `call_${i.toString(36)}xyz`, 'gen_ai.tool.type': 'function',
      }).end()
      spans++
    }
  }
  agent.setAttributes({ 'llm.reasoning.iterations.total': 2, 'llm.reasoning.tool_calls.total': 1, 'llm.tokens.input': 250, 'llm.tokens.output': 80 })
  agent.end()
  root.setAttribute('http.response.status_code', 200)
  root.end()
  return spans
}

interface Row { label: string; traces: number; held: number; estimateMiB: number; heapMiB: number }

function run(label: string, store: TraceStore | undefined): { rows: Row[]; spans: number; ms: number } {
  const provider = new TracerProvider({ spanProcessors: processors(store) })
  const tracer = provider.getTracer('bench')
  const base = heapMiB()
  const rows: Row[] = []
  let spans = 0
  let ms = 0
  for (let done = 0; done <= TRACES; done++) {
    if (CHECKPOINTS.includes(done)) {
      const stats = store?.stats()
      rows.push({ label, traces: done, held: stats?.traces ?? 0, estimateMiB: (stats?.bytes ?? 0) / 1024 / 1024, heapMiB: heapMiB() - base })
    }
    if (done === TRACES) break
    const started = performance.now()
    spans += oneTrace(tracer, done)
    ms += performance.now() - started
  }
  return { rows, spans, ms }
}

/** Times the store's onEnd alone (the rest of the difference is the GC's work on what it keeps). */
class OnEndTimer implements SpanProcessor {
  readonly store: TraceStore
  calls = 0
  ms = 0
  constructor(store: TraceStore) {
    this.store = store
  }
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    const started = performance.now()
    this.store.onEnd(span)
    this.ms += performance.now() - started
    this.calls++
  }
  forceFlush = () => Promise.resolve()
  shutdown = () => Promise.resolve()
}

function onEndMicros(store: TraceStore): number {
  let best = Infinity
  for (let round = 0; round < 4; round++) {
    const timer = new OnEndTimer(new TraceStore({ maxTraces: store.maxTraces, maxBytes: store.maxBytes }))
    const [exporter] = processors(timer.store)
    const tracer = new TracerProvider({ spanProcessors: [exporter!, timer] }).getTracer('bench')
    for (let i = 0; i < TRACES; i++) oneTrace(tracer, i)
    best = Math.min(best, (timer.ms * 1000) / timer.calls)
  }
  return best
}

/** Time per span, best of a few rounds (the first warms the JIT). */
function timePerSpan(make: () => TraceStore | undefined): number {
  let best = Infinity
  for (let round = 0; round < 4; round++) {
    const { spans, ms } = run('timing', make())
    best = Math.min(best, (ms * 1000) / spans)
  }
  return best
}

if (!gc) console.log('(run with --expose-gc for heap figures after a full GC)\n')
const MiB = 1024 * 1024
const configs: Array<[string, () => TraceStore | undefined]> = [
  ['default bounds (1000 traces, 64 MiB)', () => new TraceStore({ maxTraces: 1000, maxBytes: 64 * MiB })],
  ['small byte bound (1000 traces, 2 MiB)', () => new TraceStore({ maxTraces: 1000, maxBytes: 2 * MiB })],
  ['unbounded (10000 traces, 1 GiB): calibration', () => new TraceStore({ maxTraces: 10_000, maxBytes: 1024 * MiB })],
]

const table: Row[] = []
for (const [label, make] of configs) table.push(...run(label, make()).rows)
console.log('JS heap and array buffers used by the store (MiB above the provider with the exporter alone), after N traces of 4 (chat) or 9 (agent) spans:\n')
console.log('| bounds | traces fed | traces held | store estimate MiB | heap MiB |')
console.log('|---|---:|---:|---:|---:|')
for (const r of table) console.log(`| ${r.label} | ${r.traces} | ${r.held} | ${r.estimateMiB.toFixed(2)} | ${r.heapMiB.toFixed(2)} |`)

const without = timePerSpan(() => undefined)
const withDefault = timePerSpan(configs[0]![1])
const withSmall = timePerSpan(configs[1]![1])
console.log('\nTime per span (start, set attributes, end), best of 4 runs of 10,000 traces:\n')
console.log('| processor | µs per span | store share µs |')
console.log('|---|---:|---:|')
console.log(`| exporter alone | ${without.toFixed(2)} | – |`)
console.log(`| TraceStore, default bounds | ${withDefault.toFixed(2)} | ${(withDefault - without).toFixed(2)} |`)
console.log(`| TraceStore, 2 MiB (evicting by bytes) | ${withSmall.toFixed(2)} | ${(withSmall - without).toFixed(2)} |`)
console.log(`\nTraceStore.onEnd alone: ${onEndMicros(configs[0]![1]()!).toFixed(2)} µs per span (default bounds), ` +
  `${onEndMicros(configs[1]![1]()!).toFixed(2)} µs (2 MiB); the rest of the share above is garbage collection of what the store keeps.`)
