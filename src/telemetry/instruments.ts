// The gateway's metric instruments, created once from the MeterProvider in use (creating
// instruments per request would be the most common way to make telemetry expensive).
import type { Attributes, Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api'
import { gatewayMeter } from './setup.ts'
import {
  DURATION_BUCKETS_S,
  GENAI_DURATION_BUCKETS_S,
  GENAI_TOKEN_BUCKETS,
  METRIC,
  SERIES_LIMIT,
  TTFT_BUCKETS_S,
} from './names.ts'
import { SeriesBudget } from './series-budget.ts'

export interface Instruments {
  requests: Counter
  requestsFailed: Counter
  requestsUnmetered: Counter
  tokensInput: Counter
  tokensOutput: Counter
  cacheReadTokens: Counter
  cacheWriteTokens: Counter
  costTotalUsd: UpDownCounter
  requestDuration: Histogram
  timeToFirstToken: Histogram
  genAiTokenUsage: Histogram
  genAiOperationDuration: Histogram
  fallbacks: Counter
  responseCacheHits: Counter
  responseCacheMisses: Counter
  responseCacheSavedUsd: UpDownCounter
}

/**
 * Instruments must come from the MeterProvider actually in use (the API's no-op one before
 * start-up), and be created once: `lazyInstruments` makes them on first use and keeps them.
 */
export function lazyInstruments<T>(create: (meter: Meter) => T): () => T {
  let made: T | undefined
  return () => (made ??= create(gatewayMeter()))
}

export const getInstruments = lazyInstruments((meter): Instruments => {
  const counter = (name: string, description: string, unit: string) =>
    meter.createCounter(name, { description, unit })
  const seconds = (name: string, description: string, buckets: number[]) =>
    meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: buckets } })
  return {
    requests: counter(METRIC.requests, 'LLM requests handled, failed ones included', '{request}'),
    requestsFailed: counter(METRIC.requestsFailed, 'LLM requests that failed or were cancelled', '{request}'),
    requestsUnmetered: counter(
      METRIC.requestsUnmetered,
      'LLM requests answered without usage: their tokens and cost are not counted',
      '{request}',
    ),
    tokensInput: counter(METRIC.tokensInput, 'Prompt tokens, cached ones included', '{token}'),
    tokensOutput: counter(METRIC.tokensOutput, 'Completion tokens, reasoning included', '{token}'),
    cacheReadTokens: counter(METRIC.cacheReadTokens, 'Prompt tokens read from the provider cache', '{token}'),
    cacheWriteTokens: counter(METRIC.cacheWriteTokens, 'Prompt tokens written to the provider cache', '{token}'),
    costTotalUsd: meter.createUpDownCounter(METRIC.costTotalUsd, {
      description: 'Cost of LLM requests in US dollars (only ever increases)',
    }),
    requestDuration: seconds(METRIC.requestDuration, 'Duration of LLM requests', DURATION_BUCKETS_S),
    timeToFirstToken: seconds(METRIC.timeToFirstToken, 'Time to the first streamed token', TTFT_BUCKETS_S),
    genAiTokenUsage: meter.createHistogram(METRIC.genAiTokenUsage, {
      description: 'Number of input and output tokens used',
      unit: '{token}',
      advice: { explicitBucketBoundaries: GENAI_TOKEN_BUCKETS },
    }),
    genAiOperationDuration: seconds(METRIC.genAiOperationDuration, 'GenAI operation duration', GENAI_DURATION_BUCKETS_S),
    fallbacks: counter(METRIC.fallbacks, 'Calls a route group moved from one target to the next', '{fallback}'),
    responseCacheHits: counter(METRIC.responseCacheHits, 'LLM requests answered from the response cache', '{request}'),
    responseCacheMisses: counter(METRIC.responseCacheMisses, 'LLM requests the response cache could not answer', '{request}'),
    responseCacheSavedUsd: meter.createUpDownCounter(METRIC.responseCacheSavedUsd, {
      description: 'What the response cache hits saved: the cost of their answers when made, in US dollars (only ever increases)',
    }),
  }
})

/** The (model, provider) pairs with series of their own, shared by llm-call.ts and agent-run.ts. */
export const modelSeries = new SeriesBudget(SERIES_LIMIT.models)
/** The label sets of the gen_ai.client.* histograms. */
export const genAiSeries = new SeriesBudget(SERIES_LIMIT.genAi)

export type { Attributes }
