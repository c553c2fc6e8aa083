// The configuration schema read directly (src/config.ts): what each OTEL_* variable accepts, the
// defaults `.env.example` states, and every problem reported in one ConfigError. Start-up itself
// (exit code, one line per problem) is start-up.test.ts.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { ConfigError, loadConfig, type ExportedSignals } from '../../src/config.ts'

type Env = Record<string, string>

function problems(env: Env, exported?: ExportedSignals): string[] {
  try {
    loadConfig(env, exported)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

t.test('.env.example states the defaults: its values give the configuration an empty environment gives', async (t) => {
  const example: Env = {}
  for (const line of readFileSync(new URL('../../.env.example', import.meta.url), 'utf8').split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (match) example[match[1]!] = match[2]!
  }
  t.ok(Object.keys(example).length > 20, 'the example was read')
  t.same(loadConfig(example), loadConfig({}))
})

t.test('blank is unset, as the OpenTelemetry SDK reads it', async (t) => {
  t.same(loadConfig({ PORT: ' ', OTEL_SERVICE_NAME: '', OTEL_TRACES_SAMPLER: '  ', GATEWAY_API_KEYS: '' }), loadConfig({}))
})

t.test('values the SDK accepts are accepted', async (t) => {
  const good: Env[] = [
    { OTEL_SDK_DISABLED: 'TRUE' },
    { OTEL_SDK_DISABLED: 'false' },
    { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' },
    { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
    { OTEL_TRACES_SAMPLER: 'always_off' },
    { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' },
    { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com:4318/', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' },
    { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=dev, team=a%2Cb,' },
    { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer abc==,x-tenant=t1' },
    { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'LowMemory' },
    { OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'base2_exponential_bucket_histogram' },
    { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TIMEOUT: '10000' },
    { OTEL_PROPAGATORS: 'tracecontext, baggage,b3' },
    { OTEL_METRIC_EXPORT_INTERVAL: '1', OTEL_BSP_SCHEDULE_DELAY: '0', OTEL_BSP_MAX_QUEUE_SIZE: '8' },
    { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: '1' },
  ]
  for (const env of good) t.same(problems(env), [], JSON.stringify(env))
})

t.test('each bad OTEL_* value is named with what is allowed', async (t) => {
  const bad: Array<[Env, RegExp]> = [
    [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }, /^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be http\/protobuf \(the gateway exports OTLP over HTTP with protobuf\), got "http\/json"$/],
    [{ OTEL_TRACES_SAMPLER: 'ALWAYS_ON' }, /^OTEL_TRACES_SAMPLER must be one of always_on, .*got "ALWAYS_ON"$/],
    [{ OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: '0.5' }, /^OTEL_TRACES_SAMPLER_ARG is read only by the traceidratio and parentbased_traceidratio samplers; OTEL_TRACES_SAMPLER is always_on/],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '-0.1' }, /^OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/],
    [{ OTEL_METRIC_EXPORT_INTERVAL: '0' }, /^OTEL_METRIC_EXPORT_INTERVAL must be a whole number from 1 to 2147483647, got "0"$/],
    [{ OTEL_METRIC_EXPORT_INTERVAL: '1.5' }, /^OTEL_METRIC_EXPORT_INTERVAL must be a whole number/],
    // Past Node's longest timer the export would run every millisecond.
    [{ OTEL_METRIC_EXPORT_INTERVAL: '3000000000' }, /^OTEL_METRIC_EXPORT_INTERVAL must be a whole number from 1 to 2147483647/],
    [{ OTEL_SDK_DISABLED: '1' }, /^OTEL_SDK_DISABLED must be true or false, got "1"$/],
    [{ OTEL_RESOURCE_ATTRIBUTES: 'url=http://x/?a=b' }, /^OTEL_RESOURCE_ATTRIBUTES must be comma-separated key=value pairs, with ',' and '=' in keys and values percent-encoded, got "url=http:\/\/x\/\?a=b"$/],
    [{ OTEL_RESOURCE_ATTRIBUTES: '=dev' }, /^OTEL_RESOURCE_ATTRIBUTES must be comma-separated key=value pairs/],
    [{ OTEL_RESOURCE_ATTRIBUTES: 'team=%E0%A4%A' }, /^OTEL_RESOURCE_ATTRIBUTES .*is not valid percent-encoding$/],
    [{ OTEL_RESOURCE_ATTRIBUTES: `note=${'x'.repeat(256)}` }, /^OTEL_RESOURCE_ATTRIBUTES keys and values must be at most 255 characters/],
    [{ OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'authorization=' }, /^OTEL_EXPORTER_OTLP_METRICS_HEADERS must be comma-separated key=value pairs; entry 1 of 1 is not/],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '10s' }, /^OTEL_EXPORTER_OTLP_TIMEOUT must be a whole number from 1/],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'zip' }, /^OTEL_EXPORTER_OTLP_COMPRESSION must be one of gzip, none, got "zip"$/],
    [{ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'sometimes' }, /^OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE must be one of cumulative, delta, lowmemory/],
    [{ OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'exponential' }, /^OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION must be one of explicit_bucket_histogram, base2_exponential_bucket_histogram/],
    [{ OTEL_PROPAGATORS: 'tracecontext,jaeger,xray' }, /^OTEL_PROPAGATORS must list propagators among tracecontext, baggage, b3, b3multi, none, got "jaeger,xray"$/],
    [{ OTEL_BSP_MAX_QUEUE_SIZE: '0' }, /^OTEL_BSP_MAX_QUEUE_SIZE must be a whole number from 1/],
    [{ OTEL_BSP_SCHEDULE_DELAY: 'soon' }, /^OTEL_BSP_SCHEDULE_DELAY must be a whole number from 0/],
  ]
  for (const [env, expected] of bad) {
    const found = problems(env)
    t.equal(found.length, 1, `one problem for ${JSON.stringify(env).slice(0, 80)}`)
    t.match(found[0], expected)
  }
})

t.test('the OTLP protocol is the preloaded SDK’s to choose for the signals it exports', async (t) => {
  const grpc = { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }
  t.same(problems(grpc, { traces: false, metrics: false }), [], 'everything preloaded: any OTLP protocol')
  t.same(problems({ ...grpc, OTEL_SDK_DISABLED: 'true' }), [], 'telemetry off: nothing is exported by the gateway')
  t.match(problems(grpc, { traces: false, metrics: true }), [/^OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf/], 'the gateway still exports metrics')
  t.same(problems({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }, { traces: false, metrics: true }), [], 'the per-signal variable of a preloaded signal')
  t.match(problems({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grcp' }, { traces: false, metrics: false }), [/must be one of http\/protobuf, grpc, http\/json, got "grcp"/], 'not an OTLP protocol at all')
})

t.test('the example providers file is accepted, and the keys it names are secrets', async (t) => {
  const env = { GATEWAY_CONFIG: new URL('../../gateway.config.example.json', import.meta.url).pathname, TOGETHER_API_KEY: 'tg-secret' }
  const config = loadConfig(env)
  t.same(Object.keys(config.providers), ['ollama', 'together'])
  t.ok(config.secrets.includes('tg-secret'), "a provider's key is scrubbed like the others")
})
