// Shared by the response cache tests: a gateway with a GATEWAY_CONFIG file (its `cache` and
// `routes`), exporting to an OTLP receiver, with OpenAI and Anthropic sent to one upstream
// emulator whose log says whether a call went upstream; and raw POSTs that keep the headers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway, type GatewayProcess, type StartOptions } from '../support/gateway.ts'
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.ts'
import { providerEnv, sseEvents, startUpstream, type Upstream } from '../support/upstream.ts'

export type Json = Record<string, unknown>

/** The gateway key of the cache tests (the Anthropic SDK needs one to send). */
export const GATEWAY_KEY = 'gw-key-cache'

export interface CachingGateway {
  gateway: GatewayProcess
  receiver: OtlpReceiver
  upstream: Upstream
}

/**
 * A gateway reading `config` as its GATEWAY_CONFIG, with OpenAI and Anthropic at a fresh emulator
 * and telemetry to a fresh receiver; all stopped at `t`'s teardown.
 */
export async function startCachingGateway(
  t: { teardown(fn: () => unknown): void },
  config: Json,
  options: { env?: Record<string, string>; nodeArgs?: string[] } = {},
): Promise<CachingGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-cache-'))
  const configPath = join(dir, 'gateway.json')
  writeFileSync(configPath, JSON.stringify(config))
  const receiver = await startOtlpReceiver()
  const upstream = await startUpstream()
  const start: StartOptions = {
    timeoutMs: 60_000,
    nodeArgs: options.nodeArgs,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      GATEWAY_API_KEYS: GATEWAY_KEY,
      GATEWAY_CONFIG: configPath,
      ...providerEnv(upstream),
      ...options.env,
    },
  }
  const gateway = await startGateway(start)
  t.teardown(async () => {
    await gateway.stop()
    await Promise.all([receiver.close(), upstream.close()])
    rmSync(dir, { recursive: true, force: true })
  })
  return { gateway, receiver, upstream }
}

export interface Answer {
  status: number
  headers: Headers
  text: string
  /** The JSON body; undefined for a stream. */
  json: Json | undefined
  /** A stream's events (`event:` name and parsed `data:`, `[DONE]` left out). */
  events: Array<{ event: string | undefined; data: Json }>
}

/** POST `path` with `body` as JSON and the gateway key, plus `headers`: status, headers and body as sent. */
export async function post(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return parseAnswer(await postRaw(baseUrl, path, body, headers))
}

/** `post` but the body left as text (a test timing the gateway parses it afterwards: parsing 70 MB here takes a second). */
export async function postRaw(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Pick<Answer, 'status' | 'headers' | 'text'>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${GATEWAY_KEY}`, ...headers },
    body: JSON.stringify(body),
  })
  return { status: response.status, headers: response.headers, text: await response.text() }
}

/** The JSON body, or a stream's events, of what `postRaw` received. */
export function parseAnswer(raw: Pick<Answer, 'status' | 'headers' | 'text'>): Answer {
  const stream = (raw.headers.get('content-type') ?? '').includes('text/event-stream')
  return {
    ...raw,
    json: stream ? undefined : (JSON.parse(raw.text) as Json),
    events: stream ? sseEvents(raw.text).flatMap((e) => (e.data === '[DONE]' ? [] : [{ event: e.event, data: JSON.parse(e.data) as Json }])) : [],
  }
}

/** What the cache did, as the answer's headers say. */
export function cacheHeaders(answer: { headers: Headers }): { cache: string | null; age: string | null; target: string | null } {
  return { cache: answer.headers.get('x-gateway-cache'), age: answer.headers.get('age'), target: answer.headers.get('x-gateway-target') }
}

/** The trace ids the answer's headers name. */
export function headerIds(answer: { headers: Headers }): { trace_id: string | null; span_id: string | null } {
  return { trace_id: answer.headers.get('x-trace-id'), span_id: answer.headers.get('x-span-id') }
}
