// What `npm run bench` measures: each scenario a process (or none: direct) taking the same load.
// Chat Completions against every reference (direct, the bare proxy, Portkey, the gateway with
// telemetry off); the Responses API and the Anthropic Messages passthrough each against calling
// the upstream directly at the same path and against the gateway with telemetry off; the route
// groups (a fallback on every call, cache hits: bench/lib/routing.ts). Every telemetry-on process
// is checked for nothing lost once its load is over (bench/lib/nothing-lost.ts).
import { CHAT, MESSAGES, RESPONSES, type Ingress } from './ingress.ts'
import type { Target } from './load.ts'
import { FOUR_SPANS, type Expectations, type Served } from './nothing-lost.ts'
import { startBareProxy, startGateway, startPortkey, telemetryEnv, type Proc } from './procs.ts'
import { cacheScenario, fallbackScenario, type Check } from './routing.ts'

export interface StartContext {
  upstream: Proc
  /** OTLP endpoint of this process: its own path under the sink. */
  otlp: string
  nodeArgs: string[]
  /** Where requests sent outside the measured load (warm-ups of a cache) are counted. */
  served: Served
}

export interface Spec {
  key: string
  label: string
  /** BENCH_ONLY names a scenario by its key or its group (`responses`: the three at /v1/responses). */
  group?: string
  ingress: Ingress
  /** The scenarios this one is compared with: calling the upstream directly at the same path, and the gateway with telemetry off. */
  direct: string
  off?: string
  start(context: StartContext): Promise<Proc | undefined>
  /** The headers a target needs beyond its API's (Portkey's routing). */
  headers?(upstream: Proc): Record<string, string>
  /** Set for a telemetry-on gateway: what its requests leave in spans and metrics. */
  telemetry?: Expectations
  /** Checks what the scenario promises, on the process that took the load, once the load is over. */
  verify?(proc: Proc, served: Served): Promise<Check[]>
  /** False: its streams cannot be held open by the upstream (cache replays), so no memory per stream. */
  holdsStreams?: boolean
}

export function targetOf(spec: Spec, proc: Proc, upstream: Proc): Target {
  const { path, headers, body, streamEnd } = spec.ingress
  return { url: proc.url, path, headers: { ...headers, ...spec.headers?.(upstream) }, body, streamEnd }
}

const on = (context: StartContext) => startGateway(context.upstream.url, telemetryEnv('on', context.otlp), context.nodeArgs)
const off = (context: StartContext) => startGateway(context.upstream.url, telemetryEnv('off', ''), context.nodeArgs)
const plain: Expectations = { spans: FOUR_SPANS, charged: true }

/** Direct, telemetry off and telemetry on at one more API's path. */
function api(ingress: Ingress, label: string): Spec[] {
  const name = ingress.name
  const common = { group: name, ingress, direct: `${name}-direct` }
  return [
    { ...common, key: `${name}-direct`, label: `direct to upstream, ${label}`, start: async () => undefined },
    { ...common, key: `${name}-off`, label: `gateway, telemetry off, ${label}`, start: off },
    { ...common, key: name, label: `gateway, telemetry on, ${label}`, off: `${name}-off`, start: on, telemetry: plain },
  ]
}

export const SPECS: Spec[] = [
  { key: 'direct', label: 'direct to upstream', ingress: CHAT, direct: 'direct', start: async () => undefined },
  { key: 'bare', label: 'bare node:http proxy', ingress: CHAT, direct: 'direct', start: (c) => startBareProxy(c.upstream.url) },
  { key: 'off', label: 'gateway, telemetry off', ingress: CHAT, direct: 'direct', start: off },
  // 100% sampled, spans and metrics (every 10 s) to the OTLP sink, /metrics scraped every second.
  { key: 'on', label: 'gateway, telemetry on', ingress: CHAT, direct: 'direct', off: 'off', start: on, telemetry: plain },
  {
    key: 'portkey',
    label: 'Portkey gateway',
    ingress: CHAT,
    direct: 'direct',
    start: () => startPortkey(),
    // Portkey's way to reach a custom OpenAI-compatible host.
    headers: (up) => ({ 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${up.url}/v1`, authorization: 'Bearer sk-bench-not-a-real-key' }),
  },
  ...api(RESPONSES, '/v1/responses'),
  ...api(MESSAGES, '/v1/messages (Anthropic passthrough)'),
  // Route groups (bench/lib/routing.ts): telemetry on, as the `on` target.
  { ...fallbackScenario, ingress: CHAT, direct: 'direct' },
  { ...cacheScenario, ingress: CHAT, direct: 'direct' },
]

/** The scenarios BENCH_ONLY names (by key or group), all without it. */
export const selected = (only: string[] | undefined) => SPECS.filter((spec) => !only || only.includes(spec.key) || (spec.group !== undefined && only.includes(spec.group)))
