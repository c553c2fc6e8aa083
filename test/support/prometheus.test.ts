// The Prometheus text parser the suites read /metrics with: label values unescaped and matched
// exactly (a label that merely contains the wanted text, or a longer value, does not count).
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { metricSum, parsePrometheus, scrapeMetrics, select } from './prometheus.ts'

const TEXT = [
  '# HELP llm_requests_total Requests.',
  '# TYPE llm_requests_total counter',
  'llm_requests_total{llm_model="gpt-4o",llm_provider="openai"} 2',
  'llm_requests_total{llm_model="gpt-4o-mini",llm_provider="openai"} 5',
  'llm_requests_total{other_llm_model="gpt-4o",llm_model="x"} 7',
  'llm_requests_total_extra{llm_model="gpt-4o"} 11',
  'odd{path="C:\\\\dir",quote="say \\"hi\\"",nl="a\\nb"} 1 1700000000000',
  '# TYPE llm_request_duration_seconds histogram',
  'llm_request_duration_seconds_bucket{le="+Inf"} +Inf',
  '',
].join('\n')

t.test('parses samples, types, escapes and special values', async (t) => {
  const exposition = parsePrometheus(TEXT)
  t.equal(exposition.types.get('llm_requests_total'), 'counter')
  t.equal(exposition.types.get('llm_request_duration_seconds'), 'histogram')
  t.same(select(exposition, 'odd')[0], { name: 'odd', labels: { path: 'C:\\dir', quote: 'say "hi"', nl: 'a\nb' }, value: 1 })
  t.equal(select(exposition, 'llm_request_duration_seconds_bucket')[0]?.value, Infinity)
  t.throws(() => parsePrometheus('broken{a="1" 2'), /unparseable/)
  t.throws(() => parsePrometheus('x 1 2 3'), /unparseable/)
})

t.test('metricSum: exact names and label values, every given label required', async (t) => {
  t.equal(metricSum(TEXT, 'llm_requests_total'), 14, 'all series of the name, not of longer names')
  t.equal(metricSum(TEXT, 'llm_requests_total', { llm_model: 'gpt-4o' }), 2, 'not gpt-4o-mini, not other_llm_model')
  t.equal(metricSum(TEXT, 'llm_requests_total', { llm_provider: 'openai' }), 7)
  t.equal(metricSum(TEXT, 'llm_requests_total', { llm_model: 'gpt-4o', llm_provider: 'anthropic' }), 0)
  t.equal(metricSum(TEXT, 'odd', { quote: 'say "hi"' }), 1, 'values compared unescaped')
  t.equal(metricSum(TEXT, 'missing_total'), 0)
})

t.test('scrapeMetrics: the text of a 200, an error otherwise', async (t) => {
  let status = 200
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/metrics' ? status : 404, { 'content-type': 'text/plain' }).end(TEXT)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.equal(await scrapeMetrics(url), TEXT)
  status = 503
  await t.rejects(scrapeMetrics(url), /GET \/metrics answered 503/)
})
