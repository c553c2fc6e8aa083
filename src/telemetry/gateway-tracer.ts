// The tracer of the gateway's own spans (`llm.request`, the provider attempts, the agent's and the
// evaluations'), when the gateway runs the tracing itself. It samples with the same sampler as the
// SDK's TracerProvider, carries the same resource and hands its spans to the same span processors
// (the OTLP export, the trace store), so the spans it records are indistinguishable from the SDK's.
//
// Why not the SDK's tracer: SDK 3 checks every attribute value against the full OTLP AnyValue
// grammar (nested maps, cycles) and allocates a WeakSet for each check, twice per attribute when a
// span starts and once per setAttribute. The gateway sets about sixty attributes per request, all
// strings, numbers, booleans or arrays of strings it built itself: that checking was 13 KiB of
// WeakSets per request and 4-7 µs per span (bench/RESULTS.md, issue 15). Here a value is checked by
// its type alone and the span limits (OTEL_SPAN_ATTRIBUTE_*, OTEL_ATTRIBUTE_*) apply as in the SDK.
import {
  context as contextApi,
  diag,
  INVALID_SPAN_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TimeInput,
  type Tracer,
} from '@opentelemetry/api'
import {
  hrTimeDuration,
  isTimeInput,
  isTracingSuppressed,
  millisToHrTime,
  timeInputToHrTime,
  type InstrumentationScope,
} from '@opentelemetry/core'
import type { Resource } from '@opentelemetry/resources'
import { SamplingDecision, type ReadableSpan, type Sampler, type SpanProcessor, type TimedEvent } from '@opentelemetry/sdk-trace'
import { IdPool, isValidSpanContext } from './id-pool.ts'
import { gatewayResource } from './resource.ts'
import { AttributePairs, isSimpleValue, isValidValue, plusMillis, truncated } from './span-values.ts'
import { samplerFromEnv, spanLimitsFromEnv, type Limits } from './tracing-config.ts'

/**
 * The gateway's tracer and what NodeSDK is given so that both sample, limit and describe spans
 * alike; undefined (the SDK's tracer then records every span) when the operator asked the SDK for
 * what only it does: resource detectors by name (OTEL_NODE_RESOURCE_DETECTORS), or its own span
 * metrics (OTEL_NODE_EXPERIMENTAL_SDK_METRICS).
 */
export function gatewayTracing(env: Record<string, string | undefined>, serviceName: string, processors: readonly SpanProcessor[]) {
  if (env.OTEL_NODE_RESOURCE_DETECTORS?.trim() || env.OTEL_NODE_EXPERIMENTAL_SDK_METRICS?.trim()) return undefined
  const sdkOptions = {
    sampler: samplerFromEnv(env),
    spanLimits: spanLimitsFromEnv(),
    // The resource NodeSDK would detect with these detectors, made once and given to it as is
    // (no serviceName, no detection of its own), so its spans and ours carry the same object.
    resource: gatewayResource(serviceName),
    autoDetectResources: false,
  }
  const tracer = new GatewayTracer({ sampler: sdkOptions.sampler, limits: sdkOptions.spanLimits, resource: sdkOptions.resource, scope: { name: TRACER_NAME }, processors, samplerIgnoresAttributes: true })
  return { sdkOptions, tracer }
}

/** The instrumentation scope of the gateway's spans. */
export const TRACER_NAME = 'sik-llms-gateway'

export interface GatewayTracerSetup {
  sampler: Sampler
  limits: Limits
  resource: Resource
  scope: InstrumentationScope
  processors: readonly SpanProcessor[]
  /** The sampler reads no attributes (samplerFromEnv's do not): a span begun with pairs shows it none. */
  samplerIgnoresAttributes?: boolean
}

const ids = new IdPool()

export class GatewayTracer implements Tracer {
  private readonly setup: GatewayTracerSetup

  constructor(setup: GatewayTracerSetup) {
    this.setup = setup
  }

  startSpan(name: string, options: SpanOptions = {}, parentContext: Context = contextApi.active()): Span {
    return this.begin(name, options, undefined, parentContext)
  }

  /** startSpan() with the span's first attributes as pairs (span-values.ts), not `options.attributes`. */
  startWithPairs(name: string, options: Omit<SpanOptions, 'attributes'>, pairs: AttributePairs, parentContext: Context): Span {
    return this.begin(name, options, pairs, parentContext)
  }

  private begin(name: string, options: SpanOptions, pairs: AttributePairs | undefined, parentContext: Context): Span {
    const ctx = options.root ? trace.deleteSpan(parentContext) : parentContext
    if (isTracingSuppressed(ctx)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT)
    const parent = trace.getSpanContext(ctx)
    const validParent = parent && isValidSpanContext(parent) ? parent : undefined
    const traceId = ids.traceIdUnder(validParent)
    const kind = options.kind ?? SpanKind.INTERNAL
    const links = options.links ?? NONE
    const attributes = pairs === undefined ? options.attributes : this.setup.samplerIgnoresAttributes ? undefined : pairs.toObject()
    const sampling = this.setup.sampler.shouldSample(ctx, traceId, name, kind, attributes ?? NO_ATTRIBUTES, links)
    const spanContext = ids.context(
      traceId,
      sampling.decision === SamplingDecision.RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE,
      sampling.traceState ?? validParent?.traceState,
      validParent,
    )
    if (sampling.decision === SamplingDecision.NOT_RECORD) return trace.wrapSpanContext(spanContext)
    const span = new GatewaySpan(this.setup, name, kind, spanContext, validParent, options.startTime, pairs ?? options.attributes)
    if (sampling.attributes) span.setAttributes(sampling.attributes)
    span.addLinks(links)
    const { processors } = this.setup
    for (let i = 0; i < processors.length; i++) processors[i]!.onStart(span, ctx)
    return span
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, ctx: Context, fn: F): ReturnType<F>
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest.pop() as F
    const [options, ctx = contextApi.active()] = rest as [SpanOptions | undefined, Context | undefined]
    const span = this.startSpan(name, options, ctx)
    return contextApi.with(trace.setSpan(ctx, span), fn as (span: Span) => ReturnType<F>, undefined, span)
  }
}

/** Pairs a span takes as they are: within the count limit, no value to cut, every key named and every value valid. */
function isTakenAsIs({ keys, values }: AttributePairs, limits: Limits): boolean {
  if (keys.length > limits.attributeCountLimit || limits.attributeValueLengthLimit !== Infinity) return false
  for (let i = 0; i < keys.length; i++) if (keys[i]!.length === 0 || !isValidValue(values[i])) return false
  return true
}

const UNSET: SpanStatus = { code: SpanStatusCode.UNSET }
/**
 * Shared by every span until it has its own (never written to): a span's links, events and end
 * were four arrays of its own made at its start, a request's spans' share of what it allocates.
 */
const NONE: never[] = Object.freeze([]) as never[]
/** For a sampler (the SDK's, from samplerFromEnv: none writes to what it is given). */
const NO_ATTRIBUTES: Attributes = Object.freeze({})
const NOT_ENDED: HrTime = [0, 0]
const NO_DURATION: HrTime = [-1, -1]
/** performance.timeOrigin as an HrTime, as the SDK's hrTime() reads it for every reading. */
const ORIGIN = millisToHrTime(performance.timeOrigin)

/**
 * A span whose attributes are kept as two parallel arrays, in the order they were first set: the
 * encoder reads them as they are (otlp-span-encoder.ts). An object of 28 attributes grown key by
 * key reallocated its property store as it grew (2.7 KB a request, issue 15).
 */
export interface FlatAttributes {
  readonly attributeKeys: readonly string[]
  readonly attributeValues: readonly AttributeValue[]
}

class GatewaySpan implements Span, ReadableSpan, FlatAttributes {
  name: string
  readonly kind: SpanKind
  readonly parentSpanContext: SpanContext | undefined
  readonly startTime: HrTime
  endTime: HrTime = NOT_ENDED
  duration: HrTime = NO_DURATION
  status: SpanStatus = UNSET
  readonly attributeKeys: string[]
  readonly attributeValues: AttributeValue[]
  /** `attributes` as an object, made when something asks (a test, another processor) and until the next change. */
  private attributesObject: Attributes | undefined
  links: Link[] = NONE
  events: TimedEvent[] = NONE
  ended = false
  droppedAttributesCount = 0
  droppedEventsCount = 0
  droppedLinksCount = 0
  private readonly context: SpanContext
  private readonly setup: GatewayTracerSetup
  /** performance.now() at the start. */
  private readonly startedAt: number
  /** A start given as a time of day (not a performance.now() reading): the end is then taken from Date.now(), as the SDK does. */
  private readonly startTimeGiven: boolean

  constructor(
    setup: GatewayTracerSetup,
    name: string,
    kind: SpanKind,
    spanContext: SpanContext,
    parent: SpanContext | undefined,
    startTime: TimeInput | undefined,
    attributes: Attributes | AttributePairs | undefined,
  ) {
    this.setup = setup
    const pairs = attributes instanceof AttributePairs ? attributes : attributes ? AttributePairs.from(attributes) : undefined
    if (pairs && isTakenAsIs(pairs, setup.limits)) {
      // Pairs are made for one span (AttributePairs): within the limits, their arrays become its own.
      this.attributeKeys = pairs.keys
      this.attributeValues = pairs.values
    } else {
      this.attributeKeys = []
      this.attributeValues = []
      if (pairs) this.initialPairs(pairs)
    }
    this.name = name
    this.kind = kind
    this.context = spanContext
    this.parentSpanContext = parent
    // A number below the time origin is a performance.now() reading (as the SDK reads it): the
    // span stays on the monotonic clock, its duration exact.
    const monotonic = typeof startTime === 'number' && startTime < performance.timeOrigin
    this.startedAt = monotonic ? startTime : performance.now()
    this.startTimeGiven = startTime !== undefined && !monotonic
    this.startTime = startTime === undefined || monotonic ? plusMillis(ORIGIN, this.startedAt) : timeInputToHrTime(startTime)
  }

  get resource(): Resource {
    return this.setup.resource
  }

  get instrumentationScope(): InstrumentationScope {
    return this.setup.scope
  }

  spanContext(): SpanContext {
    return this.context
  }

  get attributes(): Attributes {
    if (this.attributesObject) return this.attributesObject
    const object: Attributes = {}
    for (let i = 0; i < this.attributeKeys.length; i++) object[this.attributeKeys[i]!] = this.attributeValues[i]
    return (this.attributesObject = object)
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (this.ended || value === undefined || key.length === 0) return this
    if (!isValidValue(value)) {
      diag.warn(`Invalid attribute value set for key: ${key}`)
      return this
    }
    const { attributeCountLimit, attributeValueLengthLimit } = this.setup.limits
    this.attributesObject = undefined
    const at = this.attributeKeys.indexOf(key)
    if (at >= 0) {
      this.attributeValues[at] = truncated(value, attributeValueLengthLimit)
      return this
    }
    if (this.attributeKeys.length >= attributeCountLimit) {
      this.droppedAttributesCount++
      return this
    }
    this.attributeKeys.push(key)
    this.attributeValues.push(truncated(value, attributeValueLengthLimit))
    return this
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) this.setAttribute(key, attributes[key])
    return this
  }

  /** The first attributes, within the limits: the keys are distinct (AttributePairs), none is looked for. */
  private initialPairs({ keys, values }: AttributePairs): void {
    const { attributeCountLimit, attributeValueLengthLimit } = this.setup.limits
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      const value = values[i]
      if (key.length === 0) continue
      if (!isValidValue(value)) diag.warn(`Invalid attribute value set for key: ${key}`)
      else if (this.attributeKeys.length >= attributeCountLimit) this.droppedAttributesCount++
      else {
        this.attributeKeys.push(key)
        this.attributeValues.push(truncated(value, attributeValueLengthLimit))
      }
    }
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this
    const { eventCountLimit, attributePerEventCountLimit } = this.setup.limits
    if (eventCountLimit === 0) {
      this.droppedEventsCount++
      return this
    }
    if (this.events === NONE) this.events = []
    if (this.events.length >= eventCountLimit) {
      this.events.shift()
      this.droppedEventsCount++
    }
    const attributes = isTimeInput(attributesOrTime) ? undefined : attributesOrTime
    const at = isTimeInput(attributesOrTime) ? attributesOrTime : time
    const kept = this.limited(attributes, attributePerEventCountLimit, isSimpleValue)
    this.events.push({ name, time: at === undefined ? this.now() : timeInputToHrTime(at), ...kept })
    return this
  }

  addLink(link: Link): this {
    if (this.ended) return this
    const { linkCountLimit, attributePerLinkCountLimit } = this.setup.limits
    if (linkCountLimit === 0) {
      this.droppedLinksCount++
      return this
    }
    if (this.links === NONE) this.links = []
    if (this.links.length >= linkCountLimit) {
      this.links.shift()
      this.droppedLinksCount++
    }
    this.links.push({ context: link.context, ...this.limited(link.attributes, attributePerLinkCountLimit, isValidValue) })
    return this
  }

  addLinks(links: Link[]): this {
    for (let i = 0; i < links.length; i++) this.addLink(links[i]!)
    return this
  }

  setStatus(status: SpanStatus): this {
    // As the SDK: UNSET changes nothing, OK is final, a message is kept for ERROR only.
    if (this.ended || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this
    this.status = status.code === SpanStatusCode.ERROR && typeof status.message === 'string'
      ? { code: status.code, message: status.message }
      : { code: status.code }
    return this
  }

  updateName(name: string): this {
    if (!this.ended) this.name = name
    return this
  }

  end(endTime?: TimeInput): void {
    if (this.ended) {
      diag.error(`${this.name} ${this.context.traceId}-${this.context.spanId} - You can only call end() on a span once.`)
      return
    }
    this.endTime = endTime === undefined ? this.now() : timeInputToHrTime(endTime)
    this.duration = hrTimeDuration(this.startTime, this.endTime)
    if (this.duration[0] < 0) {
      this.endTime = this.startTime.slice() as HrTime
      this.duration = [0, 0]
    }
    const { processors } = this.setup
    for (let i = 0; i < processors.length; i++) processors[i]!.onEnding?.(this)
    this.ended = true
    for (let i = 0; i < processors.length; i++) processors[i]!.onEnd(this)
  }

  isRecording(): boolean {
    return !this.ended
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {}
    if (typeof exception === 'string') attributes['exception.message'] = exception
    else if (exception) {
      const type = exception.code ?? exception.name
      if (type !== undefined) attributes['exception.type'] = String(type)
      if (exception.message) attributes['exception.message'] = exception.message
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack
    }
    if (attributes['exception.type'] || attributes['exception.message']) this.addEvent('exception', attributes, time)
  }

  /** Now, on the span's monotonic clock (start time plus the time elapsed), as the SDK measures. */
  private now(): HrTime {
    if (this.startTimeGiven) return millisToHrTime(Date.now())
    return plusMillis(this.startTime, performance.now() - this.startedAt)
  }

  /** An event's or a link's attributes within their count limit, with the count of those left out (none given: none). */
  private limited(attributes: Attributes | undefined, countLimit: number, isValid: (value: unknown) => boolean): { attributes?: Attributes; droppedAttributesCount?: number } {
    if (attributes === undefined) return {}
    const kept: Attributes = {}
    let count = 0
    let dropped = 0
    for (const key in attributes) {
      const value = attributes[key]
      if (value === undefined || !isValid(value)) continue
      if (count >= countLimit) dropped++
      else {
        kept[key] = truncated(value, this.setup.limits.attributeValueLengthLimit)
        count++
      }
    }
    return { attributes: kept, droppedAttributesCount: dropped }
  }
}
