// The telemetry worker: reads the span records the main thread hands over through the shared ring
// (span-hand-off.ts), encodes, batches and exports them (span-export.ts) and keeps the trace store
// (trace-store.ts), so that none of that costs the thread that serves requests (bench/RESULTS.md,
// twelfth and thirteenth rounds). It tells the main thread what its collector watch and processor
// metrics need, and answers trace lookups.
import { diag, DiagLogLevel } from '@opentelemetry/api'
import { setGlobalErrorHandler, type ExportResult } from '@opentelemetry/core'
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parentPort, workerData } from 'node:worker_threads'
import { isListedByDefault } from '../routes/traces/trace-view.ts'
import { complaintText } from './collector.ts'
import { EncodedSpanExporter, SpanExportProcessor, type BatchOptions } from './span-export.ts'
import type { RecordSpan } from './record-span.ts'
import { RecordReader } from './span-record-reader.ts'
import { SpanRing } from './span-ring.ts'
import { TraceStore, type TraceStoreOptions } from './trace-store.ts'
import type { FromWorker, LookupQuery, ToWorker } from './worker-messages.ts'
import { LARGE_REFERENCE_BYTES, QUEUED, WAITING, WAKE } from './worker-messages.ts'

export interface WorkerSetup {
  ring: SharedArrayBuffer
  ringState: SharedArrayBuffer
  /** Int32 slots shared with the main thread (worker-messages.ts names them). */
  shared: SharedArrayBuffer
  batch: BatchOptions
  store: TraceStoreOptions | undefined
}

/** How often the ring is read while spans come, and how many empty reads in a row mean they stopped coming. */
const DRAIN_AGAIN_MS = 2
const IDLE_DRAINS = 25

const setup = workerData as WorkerSetup
const port = parentPort!
const post = (message: FromWorker) => port.postMessage(message)
const ring = new SpanRing(setup.ring, setup.ringState)
const shared = new Int32Array(setup.shared)

// The SDK's complaints (a failed export reaches the global error handler) go to the main thread's
// collector watch, which says each once.
const complain = (...parts: unknown[]) => post({ type: 'complaint', parts: parts.map(complaintText) })
diag.setLogger({ error: complain, warn: complain, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN)
setGlobalErrorHandler((error) => complain(error))

const transport = new EncodedSpanExporter()
const send = transport.export.bind(transport)
transport.export = (spans, done) =>
  send(spans, (result: ExportResult) => {
    post({ type: 'exported', ok: result.code === 0, error: result.error === undefined ? undefined : complaintText(result.error) })
    done(result)
  })
const exporter = new SpanExportProcessor(transport, setup.batch)
/** Spans the queue refused since the main thread was last told. */
let dropped = 0
exporter.report({
  dropped: (count) => (dropped += count),
  finished: (count, error) => {
    Atomics.store(shared, QUEUED, exporter.queueSize)
    post({ type: 'processed', count, error: error?.name })
  },
})
const store = setup.store && setup.store.maxTraces > 0 ? new TraceStore(setup.store) : undefined
// The store copies the bytes the exporter has just encoded the span to (it runs right after it).
store?.useEncodedSpans(exporter)

const reader = new RecordReader()
/** Spans of the batch being read that reached the exporter. */
let taken = 0
const takeSpan = (span: RecordSpan) => {
  taken++
  const readable = span as unknown as ReadableSpan
  // Neither may cost the other its span, nor the batch the spans after it.
  try {
    exporter.onEnd(readable)
  } catch (error) {
    complain(error)
  }
  try {
    store?.onEnd(readable)
  } catch (error) {
    complain(error)
  }
}
/**
 * A large batch (a long captured prompt) leaves megabytes of garbage here: its buffer and the
 * strings read from it. This isolate's heap is small and rarely collected, so without help that
 * garbage piles up in the process's RSS (+110 to +205 MB after 80 prompts of 4 MB, against the
 * 150 MB test/traces/memory.test.ts allows). A full collection follows, at most one per
 * COLLECT_AFTER_MS, on this thread only.
 */
const COLLECT_AFTER_MS = 50
setFlagsFromString('--expose-gc')
const collect = runInNewContext('gc') as () => void
let collecting: NodeJS.Timeout | undefined
function collectSoon(): void {
  collecting ??= setTimeout(() => {
    collecting = undefined
    collect()
  }, COLLECT_AFTER_MS)
}

/** Batches too large for the ring, by id, from their message until the ring's reference to them is read. */
const large = new Map<number, Uint8Array>()
/** One batch from the ring; false when it is a large batch whose message has not come yet (the ring waits for it). */
const takeBatch = (bytes: Uint8Array, spans: number): boolean => {
  let batch = bytes
  if (bytes.length === LARGE_REFERENCE_BYTES) {
    const id = new DataView(bytes.buffer, bytes.byteOffset, LARGE_REFERENCE_BYTES).getUint32(0, true)
    const sent = large.get(id)
    if (!sent) return false
    large.delete(id)
    batch = sent
    collectSoon()
  }
  taken = 0
  try {
    reader.batch(batch, takeSpan)
  } catch (error) {
    // A batch that cannot be read whole is lost, not the worker. The reader skips what follows
    // until the main thread starts its tables again.
    complain(error)
    post({ type: 'resync' })
  }
  // What was not read (the rest of a broken batch, or one skipped until the tables start again) is dropped.
  dropped += spans - taken
  return true
}

/** Reads what the ring holds; true when it held something. */
function drain(): boolean {
  const batches = ring.drain(takeBatch)
  Atomics.store(shared, QUEUED, exporter.queueSize)
  if (dropped > 0) {
    post({ type: 'dropped', count: dropped })
    dropped = 0
  }
  return batches > 0
}

/**
 * Reads the ring every DRAIN_AGAIN_MS while spans come. Only after IDLE_DRAINS reads in a row
 * found none does it sleep until the main thread writes some: waking a sleeping thread costs the
 * main thread a system call (and, on a busy machine, its turn on the core), which it must not pay
 * for every batch under load (bench/RESULTS.md, thirteenth round).
 */
async function keepDraining(): Promise<never> {
  let idle = 0
  for (;;) {
    idle = drain() ? 0 : idle + 1
    if (idle < IDLE_DRAINS) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_AGAIN_MS))
      continue
    }
    const wake = Atomics.load(shared, WAKE)
    Atomics.store(shared, WAITING, 1)
    // Spans written between the drain and WAITING would find no one to wake: look once more.
    if (ring.pending === 0) {
      const waited = Atomics.waitAsync(shared, WAKE, wake)
      if (waited.async) await waited.value
    }
    Atomics.store(shared, WAITING, 0)
    idle = 0
  }
}

function lookup(query: LookupQuery): unknown {
  if (!store) return undefined
  if (query.kind === 'recent') return { traces: store.recent(query.limit, query.all ? undefined : isListedByDefault), stats: store.stats() }
  const trace = store.get(query.traceId)
  return trace ? { trace } : { stats: store.stats(), oldestStartMs: store.oldestStartMs() }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'large') large.set(message.id, message.bytes)
  // Whatever the main thread handed over before asking is read first.
  drain()
  if (message.type === 'large') return
  if (message.type === 'lookup') return post({ type: 'done', id: message.id, result: lookup(message.query) })
  const done = message.type === 'flush' ? exporter.forceFlush() : exporter.shutdown()
  done.catch(complain).finally(() => post({ type: 'done', id: message.id, result: undefined }))
})

void keepDraining()
