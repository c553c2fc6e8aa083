// SPEC §3: bad configuration stops the start with a message that names the variable. Every bad
// value is named at once, one line each, the OTEL_* ones included: the OpenTelemetry SDK would
// warn and fall back to its default (or, for the OTLP protocol, not read it at all) and the
// gateway would run exporting something other than what the operator asked for.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { failedStart, startGateway } from '../support/gateway.ts'

// Gateways are real processes: on a loaded machine their start-up alone can near tap's 30 s default.
t.setTimeout(300_000)

const preload = fileURLToPath(new URL('../telemetry/fixtures/preload-otel.mjs', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const providersFile = join(dir, 'gateway.json')
writeFileSync(
  providersFile,
  JSON.stringify({
    providers: { local: { baseURL: 'localhost:11434/v1' }, openai: { baseURL: 'http://127.0.0.1:9/v1' } },
    prices: { 'local/llama3.2': { input: -1, output: 2 } },
  }),
)

/** Each bad value, and what its line must say: the variable, the value and what is allowed. */
const BAD: Array<[string, string, RegExp]> = [
  ['PORT', 'abc', /PORT must be a whole number from 0 to 65535, got "abc"/],
  ['UPSTREAM_MAX_RETRIES', '-1', /UPSTREAM_MAX_RETRIES must be a whole number from 0 to 10, got "-1"/],
  ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/],
  ['OPENAI_BASE_URL', 'api.openai.com/v1', /OPENAI_BASE_URL must be an http\(s\) URL, got "api.openai.com\/v1"/],
  ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL, got "collector:4318"/],
  ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'not a url', /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http\(s\) URL/],
  ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'ftp://collector/v1/metrics', /OTEL_EXPORTER_OTLP_METRICS_ENDPOINT must be an http\(s\) URL/],
  ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', /OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf \(the gateway exports OTLP over HTTP with protobuf.*got "grpc"/],
  ['OTEL_TRACES_SAMPLER', 'sometimes', /OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got "sometimes"/],
  ['OTEL_TRACES_SAMPLER_ARG', '1.5', /OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 .*got "1.5"/],
  ['OTEL_METRIC_EXPORT_INTERVAL', '-5', /OTEL_METRIC_EXPORT_INTERVAL must be a whole number from 1 to 2147483647, got "-5"/],
  ['OTEL_SDK_DISABLED', 'yes', /OTEL_SDK_DISABLED must be true or false, got "yes"/],
  ['OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment=dev,team', /OTEL_RESOURCE_ATTRIBUTES must be comma-separated key=value pairs.*got "team"/],
  ['OTEL_EXPORTER_OTLP_HEADERS', 'x-tenant=a,sk-secret-token', /OTEL_EXPORTER_OTLP_HEADERS must be comma-separated key=value pairs; entry 2 of 2 is not/],
  ['GATEWAY_CONFIG', providersFile, /GATEWAY_CONFIG \(.*gateway\.json\): providers\.local\.baseURL must be an http\(s\) URL/],
]

t.test('every bad value is named at once, one line each, and the gateway never listens', async (t) => {
  const { code, stdout, stderr } = await failedStart({ env: Object.fromEntries(BAD.map(([name, value]) => [name, value])) })
  t.not(code, null, 'exits by itself (not killed after hanging)')
  t.not(code, 0, 'exits non-zero')
  const lines = stderr.split('\n').filter((line) => line.startsWith('sik-llms-gateway: configuration error: '))
  for (const [name, , expected] of BAD) {
    t.ok(lines.some((line) => expected.test(line)), `${name} named: ${expected}`)
  }
  // The providers file is checked whole, beside the variables.
  t.match(stderr, /GATEWAY_CONFIG \(.*\): provider name "openai" must be lowercase letters/)
  t.match(stderr, /GATEWAY_CONFIG \(.*\): prices\.local\/llama3\.2\.input must be a number ≥ 0/)
  t.equal(lines.length, BAD.length + 2, 'one line per problem')
  t.notMatch(stderr, /sk-secret-token/, 'a header entry is not repeated: it may hold a token')
  t.notMatch(stdout + stderr, /"msg":"listening"/, 'never listened')
})

t.test('one bad OTEL_* value alone stops the start', async (t) => {
  const { code, stderr } = await failedStart({ env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'ten percent' } })
  t.equal(code, 1)
  t.match(stderr, /OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 \(the share of traces sampled\), got "ten percent"/)
})

t.test("a ratio beside a sampler that reads none is named: it would look like sampling while every trace is kept", async (t) => {
  const { code, stderr } = await failedStart({ env: { OTEL_TRACES_SAMPLER_ARG: '0.1' } })
  t.equal(code, 1)
  t.match(stderr, /OTEL_TRACES_SAMPLER_ARG is read only by the traceidratio and parentbased_traceidratio samplers; OTEL_TRACES_SAMPLER is unset \(parentbased_always_on\)/)
})

t.test('a preloaded setup chooses its own OTLP protocol; what the gateway still exports must be http/protobuf', async (t) => {
  // The operator's SDK exports traces and metrics (to a dead port: nothing is asserted there).
  const preloaded = await startGateway({
    timeoutMs: 120_000,
    nodeArgs: ['--import', preload],
    env: { OPERATOR_OTLP_URL: 'http://127.0.0.1:9', OPERATOR_METRICS: '1', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
  })
  t.teardown(() => preloaded.stop())
  t.equal(preloaded.logs().find((line) => line.msg === 'listening')?.telemetry, 'preloaded', 'started, with the operator in charge')

  // Traces preloaded only: the gateway's own metrics would go out as http/protobuf, whatever it says.
  const tracesOnly = await failedStart({
    nodeArgs: ['--import', preload],
    env: { OPERATOR_OTLP_URL: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
  })
  t.equal(tracesOnly.code, 1)
  t.match(tracesOnly.stderr, /OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf .*set OTEL_EXPORTER_OTLP_TRACES_PROTOCOL/)
})
