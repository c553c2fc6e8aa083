// Issue 14: the per-key metrics are bounded by the number of keys, and bounded still when a keys
// file holds more keys than SERIES_LIMIT.keys (1000): the first 1000 (key_name, key_team) pairs
// that call get series of their own, every later one is counted under the one overflow series
// `{otel_metric_overflow="true"}`, and /metrics stops growing. Every call stays counted.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashOf } from '../../src/keys/hash.ts'
import { startGateway } from '../support/gateway.ts'
import { parsePrometheus, scrapeMetrics, select } from '../support/prometheus.ts'

t.setTimeout(240_000)

const LIMIT = 1000
const KEYS = LIMIT + 20
const secret = (n: number) => `sk-gw-bound-${String(n).padStart(5, '0')}-a7c3e9`

const dir = mkdtempSync(join(tmpdir(), 'gateway-key-series-'))
const keysFile = join(dir, 'keys.json')
writeFileSync(
  keysFile,
  JSON.stringify({ keys: Array.from({ length: KEYS }, (_, n) => ({ id: `key_${n}`, name: `caller-${n}`, team: `team-${n % 7}`, hash: hashOf(secret(n)) })) }),
)
const gateway = await startGateway({ timeoutMs: 60_000, env: { GATEWAY_KEYS_FILE: keysFile } })
t.teardown(async () => {
  await gateway.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** A demo chat by keys `from` … `to - 1`, 25 at a time. */
async function callWithKeys(from: number, to: number): Promise<void> {
  for (let n = from; n < to; n += 25) {
    const statuses = await Promise.all(
      Array.from({ length: Math.min(25, to - n) }, async (_, i) => {
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${secret(n + i)}` },
          body: JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] }),
        })
        await response.arrayBuffer()
        return response.status
      }),
    )
    if (statuses.some((s) => s !== 200)) throw new Error(`chat answered ${statuses.join(',')}`)
  }
}

t.test(`${KEYS} named keys: ${LIMIT} get series, the rest one overflow series, and every call is counted`, async (t) => {
  await callWithKeys(0, LIMIT)
  const full = parsePrometheus(await scrapeMetrics(gateway.url, secret(0)))
  await callWithKeys(LIMIT, KEYS)
  const after = parsePrometheus(await scrapeMetrics(gateway.url, secret(0)))

  const requests = select(after, 'gateway_key_requests_total')
  t.equal(new Set(requests.flatMap((s) => (s.labels.key_name ? [s.labels.key_name] : []))).size, LIMIT, `${LIMIT} keys have series`)
  const overflow = select(after, 'gateway_key_requests_total', { otel_metric_overflow: 'true' })
  t.same(overflow.map((s) => s.labels), [{ otel_metric_overflow: 'true' }], 'one overflow series, with no other label')
  t.equal(overflow[0]?.value, KEYS - LIMIT, 'the later keys\' calls are counted there')
  t.equal(requests.reduce((n, s) => n + s.value, 0), KEYS, 'every call is counted')
  const keySamples = (e: typeof after) => e.samples.filter((s) => s.name.startsWith('gateway_key_')).length
  t.ok(keySamples(after) <= keySamples(full) + 3, 'the 20 keys past the limit added at most the overflow series')
})
