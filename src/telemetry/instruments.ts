// The llm_* and gen_ai.client.* metrics of SPEC §2.2, declared once, and the label sets a call
// records them under, found once per call (series.ts says why they are not SDK instruments).
import type { Attributes } from '@opentelemetry/api'
import {
  ATTR,
  DURATION_BUCKETS_S,
  GENAI_DURATION_BUCKETS_S,
  GENAI_TOKEN_BUCKETS,
  LABEL,
  METRIC,
  SERIES_LIMIT,
  TTFT_BUCKETS_S,
} from './names.ts'
import { counter, histogram, LabelSet, OVERFLOW, upDownCounter } from './series.ts'
import { SeriesBudget, seriesKey } from './series-budget.ts'

export const LLM_METRICS = {
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
  costTotalUsd: upDownCounter(METRIC.costTotalUsd, 'Cost of LLM requests in US dollars (only ever increases)'),
  requestDuration: histogram(METRIC.requestDuration, 'Duration of LLM requests', 's', DURATION_BUCKETS_S),
  timeToFirstToken: histogram(METRIC.timeToFirstToken, 'Time to the first streamed token', 's', TTFT_BUCKETS_S),
  genAiTokenUsage: histogram(METRIC.genAiTokenUsage, 'Number of input and output tokens used', '{token}', GENAI_TOKEN_BUCKETS),
  genAiOperationDuration: histogram(METRIC.genAiOperationDuration, 'GenAI operation duration', 's', GENAI_DURATION_BUCKETS_S),
  fallbacks: counter(METRIC.fallbacks, 'Calls a route group moved from one target to the next', '{fallback}'),
  responseCacheHits: counter(METRIC.responseCacheHits, 'LLM requests answered from the response cache', '{request}'),
  responseCacheMisses: counter(METRIC.responseCacheMisses, 'LLM requests the response cache could not answer', '{request}'),
  responseCacheSavedUsd: upDownCounter(
    METRIC.responseCacheSavedUsd,
    'What the response cache hits saved: the cost of their answers when made, in US dollars (only ever increases)',
  ),
}

/** The (model, provider) pairs with series of their own, shared by llm-call.ts and agent-run.ts. */
export const modelSeries = new SeriesBudget(SERIES_LIMIT.models)
/** The label sets of the gen_ai.client.* histograms. */
const genAiSeries = new SeriesBudget(SERIES_LIMIT.genAi)

/** A call's gen_ai.client.* label sets: the operation's, and its token usage's by type. */
export interface GenAiSets {
  call: LabelSet
  input: LabelSet
  output: LabelSet
}

const GENAI_OVERFLOW: GenAiSets = { call: OVERFLOW, input: OVERFLOW, output: OVERFLOW }

/** A model's label sets: its llm_* one, and its gen_ai.client.* ones as they come. */
export class ModelLabels {
  readonly llm: LabelSet
  private readonly provider: string
  private readonly model: string
  /** By operation, error type and response model (only admitted ones: as bounded as the budget). */
  private readonly genAiSets = new Map<string, GenAiSets>()

  constructor(provider: string, model: string, llm: LabelSet) {
    this.provider = provider
    this.model = model
    this.llm = llm
  }

  /**
   * gen_ai.request.model is the routed model here, not the caller's alias as on the span: one
   * model, one series, however callers spell it. A model over its budget overflows here too.
   */
  genAi(operation: string, responseModel: string | undefined, errorType: string | undefined): GenAiSets {
    if (this.llm === OVERFLOW) return GENAI_OVERFLOW
    // The operation and error types are the gateway's own words, without '|': the rest of the
    // key is the response model, whatever it holds. An empty one is no response model.
    const key = `${operation}|${errorType ?? ''}|${responseModel || ''}`
    const found = this.genAiSets.get(key)
    if (found !== undefined) return found
    const { provider, model } = this
    if (!genAiSeries.admits(seriesKey(provider, model, responseModel, errorType))) return GENAI_OVERFLOW
    const attributes: Attributes = {
      [ATTR.genAiOperation]: operation,
      [ATTR.genAiProvider]: provider,
      [ATTR.genAiRequestModel]: model,
      ...(responseModel && { [ATTR.genAiResponseModel]: responseModel }),
      ...(errorType !== undefined && { [ATTR.errorType]: errorType }),
    }
    const made: GenAiSets = {
      call: new LabelSet(attributes),
      input: new LabelSet({ ...attributes, [ATTR.genAiTokenType]: 'input' }),
      output: new LabelSet({ ...attributes, [ATTR.genAiTokenType]: 'output' }),
    }
    this.genAiSets.set(key, made)
    return made
  }
}

const MODEL_OVERFLOW = new ModelLabels('', '', OVERFLOW)
// By provider, then model: found without building a key from a model name that is a new string
// with every request. Only admitted models are kept: as bounded as the budget.
const modelsByProvider = new Map<string, Map<string, ModelLabels>>()
const fallbackSets = new Map<string, LabelSet>()

/**
 * A model's label sets: {llm_model, llm_provider} once the model has series of its own (with
 * `admit`, it gets them while the budget lasts), else the overflow set.
 */
export function modelLabels(provider: string, model: string, admit: boolean): ModelLabels {
  let models = modelsByProvider.get(provider)
  const found = models?.get(model)
  if (found !== undefined) return found
  if (!modelSeries.admits(seriesKey(provider, model), admit)) return MODEL_OVERFLOW
  const made = new ModelLabels(provider, model, new LabelSet({ [LABEL.model]: model, [LABEL.provider]: provider }))
  if (models === undefined) modelsByProvider.set(provider, (models = new Map()))
  models.set(model, made)
  return made
}

/**
 * llm_fallbacks_total's label set. Unbudgeted, as before: route groups, their targets and the
 * reasons are the operator's configuration and the gateway's own error types.
 */
export function fallbackLabels(route: string, provider: string, model: string, reason: string): LabelSet {
  const key = seriesKey(route, provider, model, reason)
  let found = fallbackSets.get(key)
  if (found === undefined) {
    found = new LabelSet({ [LABEL.route]: route, [LABEL.provider]: provider, [LABEL.model]: model, [LABEL.fallbackReason]: reason })
    fallbackSets.set(key, found)
  }
  return found
}
