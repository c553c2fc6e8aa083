// Finds the providers an operator preloaded (`node --import ./my-otel.mjs src/main.ts`), per
// signal, without recording anything: a span started to find out would be exported into the
// operator's backend on every start.
import { createNoopMeter, metrics, ProxyTracerProvider, trace, type MeterProvider, type TracerProvider } from '@opentelemetry/api'

/** The API's no-op TracerProvider: what the global proxy delegates to while nobody registered one. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate()

export interface PreloadedProviders {
  tracerProvider: TracerProvider | undefined
  meterProvider: MeterProvider | undefined
}

export function preloadedProviders(): PreloadedProviders {
  const global = trace.getTracerProvider()
  // The global is the API's proxy; a provider registered through another copy of the API is that
  // copy's proxy, whose delegate is the provider itself (never this copy's no-op).
  const tracerProvider = global instanceof ProxyTracerProvider || 'getDelegate' in global
    ? (global as ProxyTracerProvider).getDelegate()
    : global
  const meterProvider = metrics.getMeterProvider()
  return {
    tracerProvider: tracerProvider === NOOP_TRACER_PROVIDER ? undefined : tracerProvider,
    // Without a registered provider the API answers with its no-op provider, whose meter is the
    // no-op meter. Asking a real provider for the gateway's meter records nothing.
    meterProvider: meterProvider.getMeter('sik-llms-gateway') === createNoopMeter() ? undefined : meterProvider,
  }
}

/** The signals the gateway will export itself: those the operator did not preload (SPEC §2.3, per signal). */
export function exportedSignals(): { traces: boolean; metrics: boolean } {
  const preloaded = preloadedProviders()
  return { traces: !preloaded.tracerProvider, metrics: !preloaded.meterProvider }
}

/**
 * Sends what the operator's providers hold before the process exits. They are not shut down:
 * they belong to the operator's setup. Providers without forceFlush are left alone.
 */
export async function flushPreloaded(providers: PreloadedProviders): Promise<void> {
  const flushable = [providers.tracerProvider, providers.meterProvider] as Array<{ forceFlush?: () => Promise<void> } | undefined>
  await Promise.all(flushable.map((provider) => provider?.forceFlush?.()))
}
