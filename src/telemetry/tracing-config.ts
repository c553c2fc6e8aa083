// What the SDK reads from the environment for its tracer (OTEL_TRACES_SAMPLER, the span limits),
// read once and given both to NodeSDK and to the gateway's own tracer (gateway-tracer.ts), so
// that every span of a request is sampled and limited alike.
import { diag } from '@opentelemetry/api'
import { getNumberFromEnv } from '@opentelemetry/core'
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler, type SpanLimits } from '@opentelemetry/sdk-trace'

/** The SDK's limits with its defaults filled in (what its TracerProvider does with SpanLimits). */
export type Limits = Required<Pick<SpanLimits, 'attributeCountLimit' | 'attributeValueLengthLimit' | 'eventCountLimit' | 'linkCountLimit' | 'attributePerEventCountLimit' | 'attributePerLinkCountLimit'>>

/** OTEL_SPAN_* and the general OTEL_ATTRIBUTE_* limits, read as the SDK reads them. */
export function spanLimitsFromEnv(): Limits {
  const generalCount = getNumberFromEnv('OTEL_ATTRIBUTE_COUNT_LIMIT') ?? 128
  const generalLength = getNumberFromEnv('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT') ?? Infinity
  return {
    attributeCountLimit: getNumberFromEnv('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT') ?? generalCount,
    attributeValueLengthLimit: getNumberFromEnv('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT') ?? generalLength,
    eventCountLimit: getNumberFromEnv('OTEL_SPAN_EVENT_COUNT_LIMIT') ?? 128,
    linkCountLimit: getNumberFromEnv('OTEL_SPAN_LINK_COUNT_LIMIT') ?? 128,
    attributePerEventCountLimit:
      getNumberFromEnv('OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT') ?? getNumberFromEnv('OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT') ?? generalCount,
    attributePerLinkCountLimit:
      getNumberFromEnv('OTEL_LINK_ATTRIBUTE_COUNT_LIMIT') ?? getNumberFromEnv('OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT') ?? generalCount,
  }
}

/** OTEL_TRACES_SAMPLER (+ _ARG) as NodeSDK reads it; parentbased_always_on by default. */
export function samplerFromEnv(env: Record<string, string | undefined>): Sampler {
  const ratio = (): number => {
    const value = Number(env.OTEL_TRACES_SAMPLER_ARG?.trim() || NaN)
    if (Number.isFinite(value) && value >= 0 && value <= 1) return value
    diag.error(`OTEL_TRACES_SAMPLER_ARG=${env.OTEL_TRACES_SAMPLER_ARG ?? ''} is blank or out of [0..1], defaulting to 1.`)
    return 1
  }
  const name = env.OTEL_TRACES_SAMPLER?.trim() || 'parentbased_always_on'
  switch (name) {
    case 'always_on': return new AlwaysOnSampler()
    case 'always_off': return new AlwaysOffSampler()
    case 'parentbased_always_on': return new ParentBasedSampler({ root: new AlwaysOnSampler() })
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() })
    case 'traceidratio': return new TraceIdRatioBasedSampler(ratio())
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) })
    default:
      diag.error(`unknown OTEL_TRACES_SAMPLER value "${name}", using default`)
      return new ParentBasedSampler({ root: new AlwaysOnSampler() })
  }
}
