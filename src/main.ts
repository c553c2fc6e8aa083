// Entry point: read config, start telemetry, then (and only then) load the HTTP stack, listen,
// and shut down gracefully. Fastify is imported dynamically so that the instrumentations (undici,
// and `http` when an operator enables it) are in place before what they patch is first required.
import { ConfigError, isLoopback, loadConfig, requiresKeys, type Config } from './config.ts'
import { createLogger } from './log.ts'
import { createKeyAccess } from './keys/access.ts'
import { exportedSignals } from './telemetry/preload.ts'

/** Configuration problems end start-up with one line each naming the variable, not a stack trace. */
function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) process.stderr.write(`sik-llms-gateway: configuration error: ${problem}\n`)
    process.exit(1)
  }
  throw error
}

function readConfig(): Config {
  try {
    // The OTLP protocol variables are the operator's SDK's to read for what it preloaded.
    return loadConfig(process.env, exportedSignals())
  } catch (error) {
    exitOnConfigError(error)
  }
}

const config = readConfig()
const logger = createLogger(config.logLevel)
// Loaded only once the configuration is known good: the SDK takes a while to import.
const { startTelemetry } = await import('./telemetry/setup.ts')
// One key check for the server span (none for a caller without a valid key) and the server (its 401).
const { authenticator, keyring } = createKeyAccess(config)
const telemetry = startTelemetry({
  warn: (message) => logger.warn(message),
  // Recent traces for GET /v1/traces/{id} and /traces, kept beside the export (zero-config mode only).
  traceStore: config.traceStore,
  isAuthorized: (request) => authenticator.check(request) === 'ok',
})
const { createGateway } = await import('./app.ts')

let draining = false
const gateway = await createGateway({ config, logger, telemetry, authenticator, keyring, isDraining: () => draining }).catch(exitOnConfigError)

let host = config.host
if (!requiresKeys(config) && !isLoopback(host)) {
  logger.warn({ host }, `HOST=${host} ignored: without GATEWAY_API_KEYS (or named keys) the gateway listens on loopback only`)
  host = '127.0.0.1'
}
await gateway.app.listen({ port: config.port, host })
const address = gateway.app.server.address()
const port = typeof address === 'object' && address ? address.port : config.port
logger.info(
  {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    auth: requiresKeys(config) ? 'bearer keys' : 'none (loopback only: set GATEWAY_API_KEYS to listen beyond it)',
    keys: gateway.keysSummary,
    telemetry: telemetry.mode,
    signals: telemetry.signals,
    providers: gateway.providerSummary,
    tools: gateway.toolSummary,
    routes: gateway.routeSummary,
    response_cache: gateway.cacheSummary,
    trace_store: telemetry.traces
      ? `${config.traceStore.maxTraces} traces / ${Math.round(config.traceStore.maxBytes / 1024 / 1024)} MiB: /traces`
      : 'off',
  },
  'listening',
)

/** Longest the exit waits for telemetry still to be sent (Ctrl-C with no collector: not 10 s). */
const MAX_FLUSH_MS = 2000

async function shutdown(signal: string): Promise<void> {
  if (draining) return
  draining = true
  logger.info({ signal, deadline_ms: config.shutdownTimeoutMs }, 'draining')
  const startedAt = Date.now()
  const deadline = setTimeout(() => {
    logger.warn('shutdown deadline reached: closing connections still open')
    gateway.app.server.closeAllConnections()
  }, config.shutdownTimeoutMs)
  // server.close() only closes the connections idle at that moment: one whose in-flight response
  // ends during the drain would stay open until the client's keep-alive runs out (or the deadline).
  const closeIdle = setInterval(() => gateway.app.server.closeIdleConnections(), 50)
  try {
    await gateway.app.close()
    clearTimeout(deadline)
    clearInterval(closeIdle)
    await gateway.close()
    // A reachable collector takes the last spans in milliseconds; an unreachable one would hold
    // the exit for the exporter's whole retry timeout (10 s by default): the flush gets what is
    // left of the deadline, between one and two seconds (none when the collector is known down).
    const flushMs = Math.min(MAX_FLUSH_MS, Math.max(1000, config.shutdownTimeoutMs - (Date.now() - startedAt)))
    const flush = await telemetry.shutdown(flushMs)
    if (!flush.flushed) logger.warn({ flush_ms: flushMs }, flush.reason)
    logger.info('stopped')
  } catch (error) {
    logger.error({ err: error }, 'error during shutdown')
  }
  process.exit(0)
}

process.once('SIGTERM', () => void shutdown('SIGTERM'))
process.once('SIGINT', () => void shutdown('SIGINT'))
