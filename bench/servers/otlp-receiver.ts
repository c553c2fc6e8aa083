// The decoding OTLP receiver of test/support, in its own process so its decoding does not share
// the load generator's event loop. It listens on PORT for control requests:
//   GET  /        → {"otlp": URL to export to, "spans": count}
//   POST /missing → body: JSON array of trace ids; answer: those without an `llm.request` span
//                   and a SERVER span, i.e. whose telemetry did not arrive whole.
import { createServer } from 'node:http'
import { startOtlpReceiver } from '../../test/support/otlp-receiver.ts'

const receiver = await startOtlpReceiver()
const server = createServer(async (req, res) => {
  const parts: Buffer[] = []
  for await (const part of req) parts.push(part as Buffer)
  res.writeHead(200, { 'content-type': 'application/json' })
  if (req.method !== 'POST') return res.end(JSON.stringify({ otlp: receiver.url, spans: receiver.spans.length }))
  const wanted = JSON.parse(Buffer.concat(parts).toString()) as string[]
  const seen = new Map<string, { request: boolean; server: boolean }>()
  for (const span of receiver.spans) {
    const entry = seen.get(span.traceId) ?? { request: false, server: false }
    if (span.name === 'llm.request') entry.request = true
    if (span.kind === 'SERVER') entry.server = true
    seen.set(span.traceId, entry)
  }
  res.end(JSON.stringify(wanted.filter((id) => !(seen.get(id)?.request && seen.get(id)?.server))))
})
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
process.on('SIGTERM', async () => {
  await receiver.close()
  process.exit(0)
})
