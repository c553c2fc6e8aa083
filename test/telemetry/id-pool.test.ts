// The gateway's span ids (src/telemetry/id-pool.ts) are cut from a pool of random bytes: each must
// still be a valid W3C id (lowercase hex of the right length, never all zeros) and none repeats
// across refills of the pool.
import t from 'tap'
import { randomFillSync } from 'node:crypto'
import { IdPool, isValidSpanContext, OwnSpanContext } from '../../src/telemetry/id-pool.ts'

t.test('trace and span ids: lowercase hex of 32 and 16 digits, no two alike over many refills', async (t) => {
  const pool = new IdPool()
  const seen = new Set<string>()
  let malformed = 0
  for (let i = 0; i < 20_000; i++) {
    const traceId = pool.generateTraceId()
    const spanId = pool.generateSpanId()
    if (!/^[0-9a-f]{32}$/.test(traceId) || !/^[0-9a-f]{16}$/.test(spanId)) malformed++
    seen.add(traceId).add(spanId)
  }
  t.equal(malformed, 0, 'every id is W3C-shaped')
  t.equal(seen.size, 40_000, 'no id repeats')
})

t.test('an id that would be all zeros (invalid in W3C) is never given out', async (t) => {
  // The first fill's first 8 bytes are zero: that span id is skipped, the next one is given.
  let fills = 0
  const pool = new IdPool((bytes) => {
    randomFillSync(bytes)
    if (fills++ === 0) bytes.fill(0, 0, 8)
    return bytes
  })
  const first = pool.generateSpanId()
  t.not(first, '0'.repeat(16))
  t.match(first, /^[0-9a-f]{16}$/)
  const zeroTrace = new IdPool((bytes) => bytes.fill(fills++ < 3 ? 0 : 7))
  t.equal(zeroTrace.generateTraceId(), '07'.repeat(16), 'a pool of zeros is drawn again')
})

t.test("the tracer's own contexts count as valid at once; any other is checked as the API checks it", async (t) => {
  const pool = new IdPool()
  t.ok(isValidSpanContext(new OwnSpanContext(pool.generateTraceId(), pool.generateSpanId(), 1, undefined)))
  t.ok(isValidSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 }))
  t.notOk(isValidSpanContext({ traceId: '0'.repeat(32), spanId: '00f067aa0ba902b7', traceFlags: 1 }), 'all-zero trace id')
  t.notOk(isValidSpanContext({ traceId: 'not hex', spanId: '00f067aa0ba902b7', traceFlags: 1 }), 'not hex')
})

t.test('a context points at the bytes its ids were cut from; a trace id from elsewhere has none', async (t) => {
  const pool = new IdPool()
  const hexAt = (bytes: Buffer | undefined, at: number, n: number) => bytes?.toString('hex', at, at + n)
  const root = pool.context(pool.traceIdUnder(undefined), 1, undefined, undefined)
  t.equal(hexAt(root.traceBytes, root.traceAt, 16), root.traceId)
  t.equal(hexAt(root.spanBytes, root.spanAt, 8), root.spanId)
  // Children across refills of the pool keep their root's trace bytes, which are never written again.
  let child = root
  for (let i = 0; i < 1200; i++) child = pool.context(pool.traceIdUnder(root), 1, undefined, root)
  t.equal(child.traceId, root.traceId)
  t.equal(hexAt(child.traceBytes, child.traceAt, 16), root.traceId)
  t.equal(hexAt(child.spanBytes, child.spanAt, 8), child.spanId)
  t.equal(hexAt(root.spanBytes, root.spanAt, 8), root.spanId, "the root's bytes as they were")
  const remote = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true }
  const under = pool.context(pool.traceIdUnder(remote), 1, undefined, remote)
  t.equal(under.traceId, remote.traceId)
  t.equal(under.traceBytes, undefined, "a caller's trace id is written from its hex")
  t.equal(hexAt(under.spanBytes, under.spanAt, 8), under.spanId)
  // A root made between traceIdUnder() and context() (a sampler that starts a span, say): the
  // first root's context takes no bytes rather than the second root's.
  const first = pool.traceIdUnder(undefined)
  const second = pool.context(pool.traceIdUnder(undefined), 1, undefined, undefined)
  const late = pool.context(first, 1, undefined, undefined)
  t.equal(late.traceBytes, undefined, 'no bytes of another trace id')
  t.equal(hexAt(second.traceBytes, second.traceAt, 16), second.traceId)
})
