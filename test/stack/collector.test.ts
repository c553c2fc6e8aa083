// otel-collector.yml: parses, wires OTLP in → memory_limiter → batch → Jaeger (OTLP gRPC) and
// Prometheus, and names only components that exist in the pinned contrib release. No Collector
// binary runs here, so the component names are checked against the list below.
import t from 'tap'
import { paths, readYaml, type Yaml } from './helpers.ts'

/** The release docker-compose.yml pins; the lists below are for it. */
const CONTRIB_VERSION = '0.157.0'

/**
 * Component type names (the keys used in a Collector config) that exist in
 * otel/opentelemetry-collector-contrib 0.157.0. A curated subset of the distribution: the core
 * components plus contrib ones whose names were verified — a config using something not listed
 * fails here and must add it, with its source. Sources:
 * - contrib go.mod at v0.157.0 (github.com/open-telemetry/opentelemetry-collector-contrib) for the
 *   contrib modules present in that release (exporter/prometheusexporter, exporter/zipkinexporter,
 *   exporter/fileexporter, exporter/kafkaexporter, exporter/prometheusremotewriteexporter,
 *   processor/attributesprocessor, processor/filterprocessor, processor/resourceprocessor,
 *   processor/transformprocessor, receiver/prometheusreceiver, extension/pprofextension, …), and
 *   each module's metadata.yaml `type:` for its name. Only one-word names are listed from contrib:
 *   multi-word ones are being renamed to snake_case during 2026 (contrib issue #45339), so their
 *   spelling in this exact release is not certain;
 * - opentelemetry-collector v0.144.0 release notes: exporter `otlp` renamed `otlp_grpc` and
 *   `otlphttp` renamed `otlp_http`, the old names kept as deprecated aliases (#14403, #14396);
 *   issue open-telemetry/opentelemetry-collector#14396: `otlp` receiver, `batch` and
 *   `memory_limiter` processors, `debug` and `nop` exporters, `zpages` extension keep their names;
 * - opentelemetry-collector-contrib v0.154.0 release notes: `prometheusremotewrite` renamed
 *   `prometheus_remote_write` (old name a deprecated alias); prometheus exporter's
 *   `add_metric_suffixes` ignored in favour of `translation_strategy`.
 */
const COMPONENTS = {
  receivers: ['otlp', 'nop', 'prometheus', 'zipkin', 'kafka'],
  processors: ['batch', 'memory_limiter', 'attributes', 'filter', 'resource', 'transform'],
  exporters: ['otlp_grpc', 'otlp_http', 'debug', 'nop', 'prometheus', 'prometheus_remote_write', 'zipkin', 'file', 'kafka'],
  extensions: ['zpages', 'pprof'],
  connectors: ['forward'],
} as const

/** Names that still load in this release but only as deprecated aliases (a warning at start). */
const DEPRECATED = { exporters: { otlp: 'otlp_grpc', otlphttp: 'otlp_http', prometheusremotewrite: 'prometheus_remote_write' } } as const

/** Removed from the Collector: `jaeger` and `jaeger_thrift` exporters (v0.85, 2023), `logging` (v0.111). */
const REMOVED = { exporters: ['jaeger', 'jaeger_thrift', 'logging'] } as const

type Kind = keyof typeof COMPONENTS

const config = readYaml(paths.collector)
const compose = readYaml(paths.compose) as { services: Record<string, { image?: string }> }

/** `otlp_grpc/jaeger` → `otlp_grpc`. */
const typeOf = (id: string) => id.split('/')[0]!

t.test('the component list is the one of the pinned release', async (t) => {
  t.equal(compose.services['otel-collector']?.image, `otel/opentelemetry-collector-contrib:${CONTRIB_VERSION}`)
})

t.test('every configured component exists in the pinned contrib release, under its current name', async (t) => {
  for (const kind of Object.keys(COMPONENTS) as Kind[]) {
    const section = (config[kind] ?? {}) as Yaml
    for (const id of Object.keys(section)) {
      const type = typeOf(id)
      const deprecated = (DEPRECATED as Record<string, Record<string, string>>)[kind]?.[type]
      t.notOk(deprecated, `${kind}.${id}: not the deprecated alias (use ${deprecated})`)
      t.ok((COMPONENTS[kind] as readonly string[]).includes(type), `${kind}.${id}: "${type}" is a ${kind.slice(0, -1)} of contrib ${CONTRIB_VERSION}`)
    }
  }
  for (const removed of REMOVED.exporters) {
    t.notOk(Object.keys((config.exporters ?? {}) as Yaml).some((id) => typeOf(id) === removed), `no removed "${removed}" exporter`)
  }
  t.same(Object.keys(config).sort(), ['exporters', 'processors', 'receivers', 'service'], 'no unknown top-level section')
})

t.test('pipelines: OTLP in, memory_limiter first and batch last, traces to Jaeger over OTLP, metrics to Prometheus', async (t) => {
  const service = config.service as { pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>; extensions?: string[] }
  t.same(Object.keys(service.pipelines).sort(), ['metrics', 'traces'])
  for (const [name, pipeline] of Object.entries(service.pipelines)) {
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      for (const id of pipeline[kind]) t.ok(id in ((config[kind] ?? {}) as Yaml), `${name}: ${kind} ${id} is defined`)
    }
    t.same(pipeline.receivers, ['otlp'], `${name}: from OTLP`)
    t.same(pipeline.processors, ['memory_limiter', 'batch'], `${name}: memory_limiter first, batch last`)
  }
  t.same(service.pipelines.traces?.exporters, ['otlp_grpc/jaeger'])
  t.same(service.pipelines.metrics?.exporters, ['prometheus'])
  const used = new Set(Object.values(service.pipelines).flatMap((p) => [...p.receivers, ...p.processors, ...p.exporters]))
  for (const kind of ['receivers', 'processors', 'exporters'] as const) {
    for (const id of Object.keys((config[kind] ?? {}) as Yaml)) t.ok(used.has(id), `${kind}.${id} is used by a pipeline`)
  }
})

t.test('endpoints line up with docker-compose.yml, the gateway and prometheus.yml', async (t) => {
  const receivers = config.receivers as { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } }
  t.equal(receivers.otlp.protocols.grpc.endpoint, '0.0.0.0:4317', 'gRPC on all interfaces (the default, localhost, is unreachable from other containers)')
  t.equal(receivers.otlp.protocols.http.endpoint, '0.0.0.0:4318')
  const exporters = config.exporters as { 'otlp_grpc/jaeger': { endpoint: string; tls: { insecure: boolean } }; prometheus: { endpoint: string; translation_strategy: string; add_metric_suffixes?: unknown } }
  t.equal(exporters['otlp_grpc/jaeger'].endpoint, 'jaeger:4317', 'Jaeger v2\'s own OTLP gRPC receiver')
  t.equal(exporters['otlp_grpc/jaeger'].tls.insecure, true)
  t.equal(exporters.prometheus.endpoint, '0.0.0.0:8889')
  const prometheus = readYaml(paths.prometheus) as { scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> }
  const targets = prometheus.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets))
  t.ok(targets.includes('otel-collector:8889'), 'Prometheus scrapes the collector\'s prometheus exporter')
  t.notOk(targets.some((target) => target.startsWith('gateway:')), 'and not the gateway as well (sums would double)')
  const gatewayEnv = (readYaml(paths.compose) as { services: { gateway: { environment: Record<string, string> } } }).services.gateway.environment
  t.equal(gatewayEnv.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318', 'the gateway sends OTLP/HTTP to this receiver')
})

t.test('Prometheus names pinned: underscores and suffixes, as the guide queries them', async (t) => {
  const prometheus = (config.exporters as { prometheus: Record<string, unknown> }).prometheus
  t.equal(prometheus.translation_strategy, 'UnderscoreEscapingWithSuffixes', 'llm.model → llm_model, counters get _total, seconds histograms keep _seconds')
  t.notOk('add_metric_suffixes' in prometheus, 'not the deprecated, now ignored, add_metric_suffixes')
})
