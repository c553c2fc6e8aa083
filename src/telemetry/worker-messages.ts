// What the main thread (span-hand-off.ts) and the telemetry worker (telemetry-worker.ts) tell each
// other, and the Int32 slots they share.
import type { StoredTrace, TraceStoreStats } from './trace-store.ts'

/** Slots of the shared Int32Array: spans in the worker's export queue; whether the worker sleeps; its wake-up counter. */
export const QUEUED = 0
export const WAITING = 1
export const WAKE = 2
export const SHARED_SLOTS = 3

/**
 * A batch larger than this (a span with a long captured prompt) goes by message, not through the
 * ring, which could never hold it: the ring carries a reference in its place (the batch's id, 4
 * bytes), so that the worker still reads batches in the order they were written.
 */
export const LARGE_BATCH_BYTES = 1024 * 1024
export const LARGE_REFERENCE_BYTES = 4

export type LookupQuery = { kind: 'get'; traceId: string } | { kind: 'recent'; limit: number; all: boolean }

/** A trace, or when it is not held what explains the miss. */
export type TraceLookupResult = { trace: StoredTrace } | { trace?: undefined; stats: TraceStoreStats; oldestStartMs: number | undefined }

export interface RecentTraces {
  traces: StoredTrace[]
  stats: TraceStoreStats
}

export type ToWorker =
  | { type: 'lookup'; id: number; query: LookupQuery }
  | { type: 'flush'; id: number }
  | { type: 'shutdown'; id: number }
  | { type: 'large'; id: number; bytes: Uint8Array }

export type FromWorker =
  | { type: 'done'; id: number; result: unknown }
  /** An export's outcome, for the collector watch (`error` as complaintText() gives it). */
  | { type: 'exported'; ok: boolean; error: string | undefined }
  | { type: 'complaint'; parts: string[] }
  /** Spans whose export finished, for otel.sdk.processor.span.processed (`error` is the error's name). */
  | { type: 'processed'; count: number; error: string | undefined }
  /** Spans the worker's export queue refused, or that it could not read. */
  | { type: 'dropped'; count: number }
  /** A batch could not be read whole: the writer must start its tables again (K_RESET). */
  | { type: 'resync' }
