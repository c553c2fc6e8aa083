// The gateway's metrics kept as plain numbers, one set of fields per series, read by our metric
// readers.
//
// Through the SDK, every recording on a synchronous instrument finds its series by hashing the
// attribute set (keys sorted, JSON.stringify): the fifteen points of one call cost ~10 µs that
// way (bench/micro-metrics.ts). Here a call finds its `LabelSet`s once (a Map lookup by label
// values) and each of its points is an addition to a number. Our PrometheusExporter (and the OTLP
// push that reads it, metric-push.ts) read these series through the producer `keepSeries`
// returns, shaped as the SDK shapes its own: cumulative sums, explicit-bucket histograms with
// sum, count, min and max, each series starting when it was first recorded.
//
// Until `keepSeries` is called, and so whenever no reader of ours reads them (an operator's
// preloaded MeterProvider, an OTLP reader of its own for deltas or exponential histograms,
// OTEL_SDK_DISABLED), every point goes to an SDK instrument of the global meter instead, which
// aggregates it as that provider is configured to.
import { metrics, ValueType, type Attributes, type Counter, type Histogram, type UpDownCounter } from '@opentelemetry/api'
import { millisToHrTime } from '@opentelemetry/core'
import { emptyResource } from '@opentelemetry/resources'
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type HistogramMetricData,
  type MetricDescriptor,
  type MetricProducer,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics'
import { OVERFLOW_ATTR } from './names.ts'

type HrTime = [number, number]

/** Our instruments' scope. */
const SCOPE = { name: 'sik-llms-gateway', version: '' }

/**
 * The meter of the MeterProvider in use, asked for when a point is first recorded: the API's
 * no-op one before start-up. (Not setup.ts's: that module imports this one.)
 */
function gatewayMeter() {
  return metrics.getMeter(SCOPE.name)
}

/** Whether a reader of ours reads the series: set once, at start-up, by `keepSeries`. */
let kept = false

/** Every metric, in the order they are declared: the order they are read in. */
const declared: Array<SumMetric | HistogramMetric> = []

interface MetricOptions {
  description: string
  unit?: string
}

/** A counter (`monotonic`, `_total` in Prometheus) or an up-down counter. */
export class SumMetric {
  readonly index = declared.length
  readonly points: SumPoint[] = []
  readonly name: string
  readonly monotonic: boolean
  private readonly options: MetricOptions
  private readonly descriptor: MetricDescriptor
  private instrument: Counter | UpDownCounter | undefined

  constructor(name: string, options: MetricOptions, monotonic: boolean) {
    this.name = name
    this.options = options
    this.monotonic = monotonic
    this.descriptor = descriptorOf(name, options)
    declared.push(this)
  }

  sdkInstrument(): Counter | UpDownCounter {
    const meter = gatewayMeter()
    return (this.instrument ??= this.monotonic ? meter.createCounter(this.name, this.options) : meter.createUpDownCounter(this.name, this.options))
  }

  data(endTime: HrTime): SumMetricData {
    return {
      descriptor: this.descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: this.monotonic,
      dataPoints: this.points.map((point) => ({ attributes: point.attributes, startTime: point.startTime, endTime, value: point.value })),
    }
  }
}

export class HistogramMetric {
  readonly index = declared.length
  readonly points: HistogramPoint[] = []
  readonly name: string
  readonly boundaries: readonly number[]
  private readonly options: MetricOptions
  private readonly descriptor: MetricDescriptor
  private instrument: Histogram | undefined

  constructor(name: string, options: MetricOptions, boundaries: readonly number[]) {
    this.name = name
    this.options = options
    this.boundaries = boundaries
    this.descriptor = descriptorOf(name, options)
    declared.push(this)
  }

  sdkInstrument(): Histogram {
    return (this.instrument ??= gatewayMeter().createHistogram(this.name, {
      ...this.options,
      advice: { explicitBucketBoundaries: [...this.boundaries] },
    }))
  }

  data(endTime: HrTime): HistogramMetricData {
    return {
      descriptor: this.descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: this.points.map((point) => ({
        attributes: point.attributes,
        startTime: point.startTime,
        endTime,
        value: {
          min: point.count > 0 ? point.min : undefined,
          max: point.count > 0 ? point.max : undefined,
          sum: point.sum,
          // A copy: the OTLP push encodes it later, while requests go on counting.
          buckets: { boundaries: [...this.boundaries], counts: point.counts.slice() },
          count: point.count,
        },
      })),
    }
  }
}

export function counter(name: string, description: string, unit: string): SumMetric {
  return new SumMetric(name, { description, unit }, true)
}

/** Unitless, as the sums that must keep their exact Prometheus name (`llm_cost_total_usd`). */
export function upDownCounter(name: string, description: string): SumMetric {
  return new SumMetric(name, { description }, false)
}

export function histogram(name: string, description: string, unit: string | undefined, boundaries: readonly number[]): HistogramMetric {
  return new HistogramMetric(name, unit === undefined ? { description } : { description, unit }, boundaries)
}

function descriptorOf(name: string, options: MetricOptions): MetricDescriptor {
  return { name, description: options.description, unit: options.unit ?? '', valueType: ValueType.DOUBLE }
}

class SumPoint {
  readonly attributes: Attributes
  readonly startTime: HrTime = millisToHrTime(Date.now())
  value = 0

  constructor(attributes: Attributes) {
    this.attributes = attributes
  }
}

class HistogramPoint {
  readonly attributes: Attributes
  readonly startTime: HrTime = millisToHrTime(Date.now())
  private readonly boundaries: readonly number[]
  readonly counts: number[]
  sum = 0
  count = 0
  min = Infinity
  max = -Infinity

  constructor(attributes: Attributes, boundaries: readonly number[]) {
    this.attributes = attributes
    this.boundaries = boundaries
    this.counts = new Array<number>(boundaries.length + 1).fill(0)
  }

  record(value: number): void {
    if (Number.isNaN(value)) return
    this.count += 1
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
    // The first bucket whose upper bound (inclusive) holds the value, as the SDK counts.
    const { boundaries } = this
    let bucket = 0
    while (bucket < boundaries.length && boundaries[bucket]! < value) bucket++
    this.counts[bucket]! += 1
  }
}

/**
 * One label set, found once per request, with its points in every metric recorded under it; a
 * point exists from its first recording on, as an SDK series does (a zero added is a point).
 */
export class LabelSet {
  readonly attributes: Attributes
  private readonly points: Array<SumPoint | HistogramPoint | undefined> = []

  constructor(attributes: Attributes) {
    this.attributes = Object.freeze(attributes)
  }

  add(metric: SumMetric, value: number): void {
    if (!kept) return metric.sdkInstrument().add(value, this.attributes)
    // The SDK's Counter drops a negative value (with a warning) before it makes a series.
    if (metric.monotonic && value < 0) return
    let point = this.points[metric.index] as SumPoint | undefined
    if (point === undefined) {
      point = new SumPoint(this.attributes)
      this.points[metric.index] = point
      metric.points.push(point)
    }
    point.value += value
  }

  record(metric: HistogramMetric, value: number): void {
    if (!kept) return metric.sdkInstrument().record(value, this.attributes)
    if (value < 0) return
    let point = this.points[metric.index] as HistogramPoint | undefined
    if (point === undefined) {
      point = new HistogramPoint(this.attributes, metric.boundaries)
      this.points[metric.index] = point
      metric.points.push(point)
    }
    point.record(value)
  }
}

/**
 * The one label set every point over a series budget is recorded under (series-budget.ts): the
 * same `otel.metric.overflow=true` the SDK uses for its own overflow.
 */
export const OVERFLOW = new LabelSet({ [OVERFLOW_ATTR]: true })

const producer: MetricProducer = {
  async collect(): Promise<CollectionResult> {
    const endTime = millisToHrTime(Date.now())
    const metrics = declared.filter((metric) => metric.points.length > 0).map((metric) => metric.data(endTime))
    // The reader keeps its MeterProvider's resource and adds these scopes to its own.
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: metrics.length ? [{ scope: SCOPE, metrics }] : [] }, errors: [] }
  },
}

/**
 * From now on every point is kept here, and read through the producer returned: give it to each
 * reader of ours (`metricProducers`), at start-up, before the first request.
 */
export function keepSeries(): MetricProducer {
  kept = true
  return producer
}
