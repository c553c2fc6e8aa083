// A collector stand-in: accepts OTLP/HTTP posts and counts them and their bytes without decoding.
// A real collector runs elsewhere; decoding every span here would take CPU from the gateway under
// test on a 2-core machine. (The SIGTERM check, which must read trace ids back, uses the decoding
// receiver of test/support instead.) COLLECTOR_MODE: ok (default), hang (black hole: reads the
// post, never answers), slow (answers after SLOW_MS), fail (503).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const mode = process.env.COLLECTOR_MODE ?? 'ok'
const slowMs = Number(process.env.SLOW_MS ?? 2000)
const counts = { traces: 0, metrics: 0, bytes: 0 }
const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' })
    return res.end(JSON.stringify(counts))
  }
  req.on('data', (part: Buffer) => (counts.bytes += part.length))
  req.on('end', () => {
    if (req.url === '/v1/traces') counts.traces++
    else if (req.url === '/v1/metrics') counts.metrics++
    const answer = () => {
      res.writeHead(mode === 'fail' ? 503 : 200, { 'content-type': 'application/x-protobuf' })
      res.end()
    }
    if (mode === 'hang') return
    if (mode === 'slow') return void setTimeout(answer, slowMs)
    answer()
  })
})
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})
process.on('SIGTERM', () => process.exit(0))
