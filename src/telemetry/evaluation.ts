// One evaluation as telemetry sees it (the guide's "time-separated evaluation"): an
// `evaluation <name>` span, child of the request that posted it, with a span link to the evaluated
// generation — which may have ended hours ago and be long gone from this process — and the
// evaluation metrics. Recorded here and nowhere else.
import { context, SpanKind, TraceFlags, type Attributes, type Context } from '@opentelemetry/api'
import {
  EVAL_ATTR,
  EVAL_LABEL,
  EVAL_METRIC,
  EVAL_SCORE_BUCKETS,
  EVAL_SPAN,
  LINK_ATTR,
  LINK_TYPE_EVALUATION,
  SERIES_LIMIT,
} from './names.ts'
import { counter, histogram, LabelSet, OVERFLOW } from './series.ts'
import { SeriesBudget, seriesKey } from './series-budget.ts'
import { gatewayTracer } from './setup.ts'
import { idsOf, type TraceIds } from './trace-context.ts'

export interface Evaluation {
  /** The gateway's id for it (`eval_…`), also recorded as `evaluation.id`. */
  id: string
  name: string
  /** The evaluated generation: lowercase hex, already validated. */
  target: { traceId: string; spanId: string }
  scores: Record<string, number>
  label?: string | undefined
  comment?: string | undefined
  /** Put on the span link, beside `link.type=evaluation`. */
  linkAttributes?: Record<string, string | number | boolean> | undefined
}

const EVAL_METRICS = {
  evaluations: counter(EVAL_METRIC.evaluations, 'Evaluations recorded through POST /v1/evaluations', '{evaluation}'),
  score: histogram(EVAL_METRIC.score, 'Scores of recorded evaluations, by evaluation and criterion', undefined, EVAL_SCORE_BUCKETS),
}

// Callers name evaluations and criteria freely: the span keeps every name, the metrics only the
// first ones (each criterion's histogram is 27 series), the rest under the overflow series.
const nameSeries = new SeriesBudget(SERIES_LIMIT.evaluationNames)
const criterionSeries = new SeriesBudget(SERIES_LIMIT.evaluationCriteria)
// Only admitted label sets are kept: as bounded as the budgets.
const nameSets = new Map<string, LabelSet>()
const criterionSets = new Map<string, LabelSet>()

function nameLabels(name: string): LabelSet {
  let found = nameSets.get(name)
  if (found === undefined) {
    if (!nameSeries.admits(name)) return OVERFLOW
    found = new LabelSet({ [EVAL_LABEL.name]: name })
    nameSets.set(name, found)
  }
  return found
}

function criterionLabels(name: string, criterion: string): LabelSet {
  const key = seriesKey(name, criterion)
  let found = criterionSets.get(key)
  if (found === undefined) {
    if (!criterionSeries.admits(key)) return OVERFLOW
    found = new LabelSet({ [EVAL_LABEL.name]: name, [EVAL_LABEL.criterion]: criterion })
    criterionSets.set(key, found)
  }
  return found
}

/**
 * Records the span, under `parent` (the request's context: server-span.ts requestContext), and the
 * metrics; returns the evaluation span's ids (none with telemetry off).
 */
export function recordEvaluation(evaluation: Evaluation, parent: Context = context.active()): TraceIds | undefined {
  const attributes: Attributes = {
    [EVAL_ATTR.id]: evaluation.id,
    [EVAL_ATTR.name]: evaluation.name,
    [EVAL_ATTR.targetTraceId]: evaluation.target.traceId,
    [EVAL_ATTR.targetSpanId]: evaluation.target.spanId,
    [EVAL_ATTR.genAiName]: evaluation.name,
  }
  const criteria = Object.entries(evaluation.scores)
  for (const [criterion, score] of criteria) attributes[EVAL_ATTR.score(criterion)] = score
  // The GenAI convention has one score per evaluation: given when there is exactly one.
  if (criteria.length === 1) attributes[EVAL_ATTR.genAiScoreValue] = criteria[0]![1]
  if (evaluation.label !== undefined) {
    attributes[EVAL_ATTR.label] = evaluation.label
    attributes[EVAL_ATTR.genAiScoreLabel] = evaluation.label
  }
  if (evaluation.comment !== undefined) {
    attributes[EVAL_ATTR.comment] = evaluation.comment
    attributes[EVAL_ATTR.genAiExplanation] = evaluation.comment
  }
  const span = gatewayTracer().startSpan(
    EVAL_SPAN.evaluation(evaluation.name),
    {
      kind: SpanKind.INTERNAL,
      attributes,
      links: [
        {
          // isRemote: the generation's span lives in another request, maybe another process.
          context: {
            traceId: evaluation.target.traceId,
            spanId: evaluation.target.spanId,
            traceFlags: TraceFlags.SAMPLED,
            isRemote: true,
          },
          // link.type last: it says what the link is, whatever the caller's attributes say.
          attributes: { ...evaluation.linkAttributes, [LINK_ATTR.type]: LINK_TYPE_EVALUATION },
        },
      ],
    },
    parent,
  )
  const ids = idsOf(span)
  span.end()

  const name = evaluation.name
  const named = nameLabels(name)
  named.add(EVAL_METRICS.evaluations, 1)
  for (const [criterion, score] of criteria) {
    // OpenTelemetry histograms refuse negative values (the SDK drops them with a warning): a
    // negative score is on the span, not in the histogram.
    if (score < 0) continue
    ;(named === OVERFLOW ? OVERFLOW : criterionLabels(name, criterion)).record(EVAL_METRICS.score, score)
  }
  return ids
}
