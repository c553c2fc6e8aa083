// An OpenAI-compatible upstream that starts a stream and then stalls: status, SSE headers and the
// first few events of a recorded stream, then nothing more until the client hangs up. The shared
// emulator (test/support/upstream.ts) can only delay before its first byte; a stall after it is
// what first-byte timeouts cannot see and what mid-stream disconnects and total timeouts are about.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { loadFixture } from '../support/fixtures.ts'
import { sseEvents } from '../support/upstream.ts'

export interface StalledRequest {
  body: unknown
  receivedAt: number
  /** The client closed the connection (the stream never ends on our side). */
  aborted: boolean
  closedAt?: number
}

export interface StallingUpstream {
  openaiBaseURL: string
  requests: StalledRequest[]
  /** Resolves with `requests[index]` once the client has hung up on it. */
  waitForAbort(index: number, timeoutMs?: number): Promise<StalledRequest>
  close(): Promise<void>
}

/** Sends the first `events` events of `fixture` (an OpenAI SSE recording), then stalls. */
export async function startStallingUpstream(options: { events?: number; fixture?: string } = {}): Promise<StallingUpstream> {
  const events = sseEvents(loadFixture(options.fixture ?? 'openai-chat-text-stream-include-usage').response.body)
    .filter((e) => e.data !== '[DONE]')
    .slice(0, options.events ?? 2)
  const prefix = events.map((e) => `data: ${e.data}\n\n`).join('')
  const requests: StalledRequest[] = []
  const open = new Set<ServerResponse>()
  const waiters = new Set<() => void>()
  let closing = false

  const server = createServer((req, res) => {
    const record: StalledRequest = { body: undefined, receivedAt: Date.now(), aborted: false }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      try {
        record.body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        record.body = Buffer.concat(chunks).toString('utf8')
      }
      requests.push(record)
      open.add(res)
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
      res.write(prefix)
      waiters.forEach((w) => w())
    })
    res.on('close', () => {
      open.delete(res)
      record.closedAt = Date.now()
      record.aborted = !closing
      waiters.forEach((w) => w())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    openaiBaseURL: `${url}/v1`,
    requests,
    waitForAbort: (index, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const r = requests[index]
          if (!r?.aborted) return
          done()
          resolve(r)
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`stalling upstream: request #${index} not aborted within ${timeoutMs} ms`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      }),
    close: () => {
      closing = true
      for (const res of open) res.destroy()
      return new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}
