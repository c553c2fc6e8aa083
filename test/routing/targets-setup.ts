// Shared by the load-balancing, cooldown and GET /v1/routes tests: a gateway whose route groups
// spread over three OpenAI-compatible providers (`east`, `west`, `north`), each on its own upstream
// emulator, so an emulator's log is exactly what one target received.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { startGateway, type GatewayProcess } from '../support/gateway.ts'
import { startUpstream, type Upstream } from '../support/upstream.ts'

export const PROVIDERS = ['east', 'west', 'north'] as const
export type ProviderName = (typeof PROVIDERS)[number]

/** The upstream model id every target is sent. */
export const MODEL = 'llama3.2'

export interface TargetsStack {
  gateway: GatewayProcess
  upstreams: Record<ProviderName, Upstream>
  /** One chat completion through the gateway: status, the target that served and the body. */
  chat(model: string, headers?: Record<string, string>): Promise<{ status: number; target: string | null; headers: Headers; body: Record<string, unknown> }>
  /** GET /v1/routes' entry for `group`. */
  route(group: string, headers?: Record<string, string>): Promise<RouteEntry>
}

export interface RouteTarget {
  provider: string
  model: string
  weight: number
  context_fallback: boolean
  health: 'healthy' | 'cooling_down' | 'probing'
  state: 'closed' | 'open' | 'half_open'
  recent_failures: number
  cooldown_until: string | null
}

export interface RouteEntry {
  id: string
  object: 'route'
  strategy: string
  targets: RouteTarget[]
  [key: string]: unknown
}

/** An OpenAI chat answer, as the upstream of every target gives it. */
export const OK_REPLY = { fixture: 'openai-chat-text-nonstream' } as const
export const FAILING_REPLY = { status: 500, json: { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } } }

export async function startTargets(t: Test, routes: Record<string, unknown>, env: Record<string, string> = {}): Promise<TargetsStack> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-targets-'))
  const list = await Promise.all(PROVIDERS.map(() => startUpstream()))
  const upstreams = Object.fromEntries(PROVIDERS.map((name, i) => [name, list[i]!])) as Record<ProviderName, Upstream>
  const configPath = join(dir, 'gateway.json')
  writeFileSync(
    configPath,
    JSON.stringify({
      providers: Object.fromEntries(PROVIDERS.map((name) => [name, { baseURL: upstreams[name].openaiBaseURL, models: [MODEL] }])),
      routes,
    }),
  )
  const gateway = await startGateway({ timeoutMs: 60_000, env: { GATEWAY_CONFIG: configPath, ...env } })
  t.teardown(async () => {
    await gateway.stop()
    await Promise.all(list.map((upstream) => upstream.close()))
    rmSync(dir, { recursive: true, force: true })
  })
  const chat: TargetsStack['chat'] = async (model, headers = {}) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Tell me a joke' }] }),
    })
    return { status: response.status, target: response.headers.get('x-gateway-target'), headers: response.headers, body: (await response.json()) as Record<string, unknown> }
  }
  const route: TargetsStack['route'] = async (group, headers = {}) => {
    const response = await fetch(`${gateway.url}/v1/routes`, { headers })
    if (response.status !== 200) throw new Error(`GET /v1/routes: ${response.status} ${await response.text()}`)
    const body = (await response.json()) as { data: RouteEntry[] }
    const entry = body.data.find((e) => e.id === group)
    if (!entry) throw new Error(`no route ${group} in ${JSON.stringify(body)}`)
    return entry
  }
  return { gateway, upstreams, chat, route }
}

/** How many requests each provider's emulator has received so far. */
export function received(upstreams: Record<ProviderName, Upstream>): Record<ProviderName, number> {
  return Object.fromEntries(PROVIDERS.map((name) => [name, upstreams[name].requests.length])) as Record<ProviderName, number>
}
