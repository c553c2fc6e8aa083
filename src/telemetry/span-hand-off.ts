// The main thread's span processor: each sampled span is written as a flat record
// (span-records.ts) into a batch that goes to the telemetry worker (telemetry-worker.ts) through a
// shared ring (span-ring.ts) once per turn of the event loop. The worker encodes, exports and
// stores the spans, so that the thread serving requests does none of it (bench/RESULTS.md,
// thirteenth round). The trace store lives in the worker: lookups are messages (TraceLookup).
import { diag, TraceFlags, type Context, type MeterProvider } from '@opentelemetry/api'
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace'
import { Worker } from 'node:worker_threads'
import type { CollectorWatch } from './collector.ts'
import { ProcessorMetrics, type BatchOptions } from './span-export.ts'
import { RecordWriter } from './span-records.ts'
import { SpanRing } from './span-ring.ts'
import type { WorkerSetup } from './telemetry-worker.ts'
import type { TraceStoreOptions } from './trace-store.ts'
import {
  LARGE_BATCH_BYTES, LARGE_REFERENCE_BYTES, QUEUED, SHARED_SLOTS, WAITING, WAKE,
  type FromWorker, type LookupQuery, type RecentTraces, type ToWorker, type TraceLookupResult,
} from './worker-messages.ts'

/**
 * Room for ~9,000 chat requests' spans (~450 bytes each as records): a worker held up for a second
 * or two (a long GC, a busy machine) drops nothing. The worker's export queue (2048 spans by
 * default) is the bound that counts; the ring only carries spans across.
 */
const RING_BYTES = 4 * 1024 * 1024
/** A batch this large leaves at once, not at the end of the turn. */
const PUBLISH_BYTES = 48 * 1024
/** The worker's export queue, as the SDK's batch processor sizes it by default. */
const DEFAULT_MAX_QUEUE_SIZE = 2048

/** The trace store's answers, read in the telemetry worker. */
export interface TraceLookup {
  get(traceId: string): Promise<TraceLookupResult>
  /** Newest first, at most `limit`; only model calls, agent runs and evaluations unless `all`. */
  recent(limit: number, all: boolean): Promise<RecentTraces>
}

export interface HandOffOptions {
  batch: BatchOptions
  /** Undefined when the store is off. */
  store: TraceStoreOptions | undefined
  watch: CollectorWatch
}

export class SpanHandOff implements SpanProcessor, TraceLookup {
  private readonly ring = new SpanRing(RING_BYTES)
  private readonly shared = new Int32Array(new SharedArrayBuffer(4 * SHARED_SLOTS))
  private readonly writer = new RecordWriter()
  private readonly worker: Worker
  private readonly watch: CollectorWatch
  private readonly capacity: number
  private metrics: ProcessorMetrics | undefined
  /** Requests to the worker not answered yet: how each is answered, and what it comes to if the worker is gone. */
  private readonly waiting = new Map<number, { answer: (result: unknown) => void; stopped: () => void }>()
  private nextId = 0
  private armed = false
  /** Spans lost since the last warning (the ring full, or a span that could not be written). */
  private lost = 0
  private stopped: Promise<void> | undefined
  private gone = false
  private largeBatches = 0
  private readonly referenceBytes = new Uint8Array(LARGE_REFERENCE_BYTES)
  private readonly reference = new DataView(this.referenceBytes.buffer)

  constructor(options: HandOffOptions) {
    this.watch = options.watch
    this.capacity = options.batch.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE
    const setup: WorkerSetup = { ring: this.ring.buffer, ringState: this.ring.state, shared: this.shared.buffer as SharedArrayBuffer, batch: options.batch, store: options.store }
    // None of this process's Node flags, nor NODE_OPTIONS (read again for a worker given execArgv):
    // the operator's preloads (--import, --require) would start a second SDK in the worker, and
    // V8's flags (--expose-gc) are refused there (they hold for the whole process anyway).
    this.worker = new Worker(new URL('./telemetry-worker.ts', import.meta.url), {
      workerData: setup,
      execArgv: [],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    // The gateway's exit is not held up by the worker: shutdown() flushes it first.
    this.worker.unref()
    this.worker.on('error', (error) => diag.error('the telemetry worker stopped: spans are no longer exported', error))
    // Nothing asked of a worker that is gone waits for ever.
    this.worker.on('exit', () => {
      this.gone = true
      for (const pending of this.waiting.values()) pending.stopped()
      this.waiting.clear()
    })
    this.worker.on('message', (message: FromWorker) => this.heard(message))
    this.writer.onResourceSettled = () => {
      if (this.writer.settleResource()) this.publish()
    }
  }

  /** The processor metrics, on the MeterProvider NodeSDK makes after it took its span processors. */
  attach(meterProvider: MeterProvider): void {
    // The queue is the worker's export queue (the ring only carries spans across, read every 2 ms).
    this.metrics ??= new ProcessorMetrics(meterProvider, this.capacity, () => Atomics.load(this.shared, QUEUED))
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.stopped || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return
    if (this.gone || !this.writer.add(span)) return this.drop(1)
    if (this.writer.pos > PUBLISH_BYTES) this.publish()
    else if (!this.armed) {
      this.armed = true
      setImmediate(this.publishSoon)
    }
  }

  get(traceId: string): Promise<TraceLookupResult> {
    return this.ask({ kind: 'get', traceId }) as Promise<TraceLookupResult>
  }

  recent(limit: number, all: boolean): Promise<RecentTraces> {
    return this.ask({ kind: 'recent', limit, all }) as Promise<RecentTraces>
  }

  forceFlush(): Promise<void> {
    return this.stopped ?? (this.request('flush') as Promise<void>)
  }

  shutdown(): Promise<void> {
    this.stopped ??= (this.request('shutdown') as Promise<void>).finally(() => {
      this.metrics?.shutdown()
      return this.worker.terminate()
    })
    return this.stopped
  }

  private readonly publishSoon = () => {
    this.armed = false
    this.publish()
  }

  private publish(): void {
    const taken = this.writer.take(this.write)
    if (taken < 0) this.drop(-taken)
  }

  private readonly write = (bytes: Uint8Array, length: number, spans: number): boolean => {
    if (!(length > LARGE_BATCH_BYTES ? this.writeLarge(bytes, length, spans) : this.ring.write(bytes, length, spans))) return false
    if (this.lost > 0) {
      diag.warn(`Dropped ${this.lost} spans because the telemetry worker's ring was full`)
      this.lost = 0
    }
    // A worker that found the ring empty sleeps until told.
    if (Atomics.load(this.shared, WAITING) === 1) {
      Atomics.add(this.shared, WAKE, 1)
      Atomics.notify(this.shared, WAKE)
    }
    return true
  }

  /** A batch too large for the ring: its reference into the ring, its bytes by message. */
  private writeLarge(bytes: Uint8Array, length: number, spans: number): boolean {
    const id = ++this.largeBatches
    this.reference.setUint32(0, id, true)
    if (!this.ring.write(this.referenceBytes, LARGE_REFERENCE_BYTES, spans)) return false
    const copy = bytes.slice(0, length)
    this.worker.postMessage({ type: 'large', id, bytes: copy } satisfies ToWorker, [copy.buffer])
    return true
  }

  private drop(count: number): void {
    if (this.lost === 0) diag.warn(this.gone ? 'Dropping spans: the telemetry worker stopped' : "Dropping spans: the telemetry worker's ring is full")
    this.lost += count
    this.metrics?.dropped(count)
  }

  private ask(query: LookupQuery): Promise<unknown> {
    return this.request('lookup', query)
  }

  /**
   * Hands over what was recorded, then asks: the worker reads the ring before it answers. Once
   * the worker is gone a lookup fails and a flush has nothing left to do.
   */
  private request(type: ToWorker['type'], query?: LookupQuery): Promise<unknown> {
    this.publish()
    if (this.gone) return type === 'lookup' ? Promise.reject(workerGone()) : Promise.resolve()
    const id = ++this.nextId
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { answer: resolve, stopped: () => (type === 'lookup' ? reject(workerGone()) : resolve(undefined)) })
      this.worker.postMessage((type === 'lookup' ? { type, id, query } : { type, id }) as ToWorker)
    })
  }

  private heard(message: FromWorker): void {
    switch (message.type) {
      case 'done':
        this.waiting.get(message.id)?.answer(message.result)
        this.waiting.delete(message.id)
        return
      case 'exported':
        return this.watch.record('traces', message.ok ? { code: 0 } : { code: 1, error: new Error(message.error ?? 'span export failed') })
      case 'complaint':
        return this.watch.complaint(message.parts)
      case 'processed':
        return this.metrics?.finished(message.count, message.error === undefined ? undefined : Object.assign(new Error(), { name: message.error }))
      case 'dropped':
        return this.metrics?.dropped(message.count)
      case 'resync':
        this.writer.resync()
        return this.publish()
    }
  }
}

/** Made only when a lookup fails (an Error captures its stack). */
const workerGone = () => new Error('the telemetry worker stopped: no trace store to read')
