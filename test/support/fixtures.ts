// Loads the recorded exchanges in test/fixtures/recorded (see CREDITS.md there).
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('../fixtures/recorded/', import.meta.url))

export interface RecordedExchange {
  meta: {
    id: string
    api: 'openai.chat.completions' | 'openai.responses' | 'anthropic.messages'
    scenario: string
    streaming: boolean
    request_stream_flag: boolean
    response_is_sse: boolean
    http_status: number
    usage: Record<string, unknown> | null
    summary: Record<string, unknown>
  }
  request: { method: string; url: string; headers: Record<string, string[]>; body: string }
  response: { status: number; reason: string; headers: Record<string, string[]>; body: string }
}

const cache = new Map<string, RecordedExchange>()

/** `name` is the file name without `.json`, e.g. `openai-chat-text-nonstream`. */
export function loadFixture(name: string): RecordedExchange {
  let fixture = cache.get(name)
  if (!fixture) {
    fixture = JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8')) as RecordedExchange
    cache.set(name, fixture)
  }
  return fixture
}

export function fixtureNames(prefix = ''): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f.startsWith(prefix))
    .map((f) => f.slice(0, -'.json'.length))
    .sort()
}
