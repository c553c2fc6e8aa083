// A loopback HTTP proxy put between a client we cannot instrument (a CLI binary such as Codex) and
// the gateway: it forwards every request unchanged and streams the answer back as it comes (SSE
// stays incremental), keeping what the client sent and the status and headers it got. So a test
// can compare what reached the upstream with the client's own body, and read headers the client
// received but never prints (x-gateway-omitted, x-trace-id).
import { createServer, request, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ProxiedExchange {
  method: string
  /** As the client sent it, query string included. */
  path: string
  /** The client's headers (Node lower-cases the names). */
  headers: IncomingHttpHeaders
  /** The request body parsed as JSON, or the raw text when it is not JSON. */
  body: unknown
  /** Once the gateway answered: its status and headers. */
  status?: number
  responseHeaders?: IncomingHttpHeaders
}

export interface RecordingProxy {
  /** `http://127.0.0.1:PORT` */
  url: string
  exchanges: ProxiedExchange[]
  close(): Promise<void>
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const exchanges: ProxiedExchange[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const exchange: ProxiedExchange = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: parsed(raw.toString('utf8')) }
      exchanges.push(exchange)
      const forwarded = request(`${target}${exchange.path}`, { method: exchange.method, headers: req.headers }, (answer) => {
        exchange.status = answer.statusCode
        exchange.responseHeaders = answer.headers
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      // The gateway unreachable: the client sees a 502 rather than a hang.
      forwarded.on('error', () => res.destroyed || res.writeHead(502).end())
      forwarded.end(raw)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
