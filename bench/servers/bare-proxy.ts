// The floor any Node gateway stands on: node:http in, node:http out over a keep-alive agent,
// bytes piped both ways, nothing parsed or recorded. `UPSTREAM=http://127.0.0.1:N node
// bench/servers/bare-proxy.ts` prints `{"port":N}` once listening.
import { Agent, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'

const upstream = new URL(process.env.UPSTREAM ?? 'http://127.0.0.1:8000')
const agent = new Agent({ keepAlive: true, maxSockets: Infinity })

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const out = request(
    { agent, host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    },
  )
  out.on('error', () => res.destroy())
  res.on('close', () => {
    if (!res.writableFinished) out.destroy()
  })
  req.pipe(out)
})
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})
process.on('SIGTERM', () => process.exit(0))
