// The `x-gateway-omitted` header names the caller's own words (the type of a tool the upstream
// cannot run), and Node refuses to send a header holding a control or non-Latin-1 character: such
// a tool type made a translated call a 500, and a streamed one a hijacked response that never
// started (the caller hung, its llm.request never ended). And a caller that sent thousands of
// tool types got a header no client reads (16 KiB). The header is now percent-encoded and bounded;
// the calls are answered.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'

const gateway = await startGateway()
// The demo answers slower than its total timeout: every call a 504 after its translation.
const slow = await startGateway({ env: { DEMO_TOKEN_DELAY_MS: '200', UPSTREAM_TOTAL_TIMEOUT_MS: '100' } })
t.teardown(async () => {
  await gateway.stop()
  await slow.stop()
})

const odd = ['snow\u2603man', 'a\r\nx-evil: 1', 'caf\u00e9', '50%', 'emoji\u{1F600}']

function post(url: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-chat', input: 'hi', ...body }),
    signal: AbortSignal.timeout(20_000),
  })
}

const omitted = (response: Response) => (response.headers.get('x-gateway-omitted') ?? '').split(', ').map(decodeURIComponent).sort()

for (const stream of [false, true]) {
  t.test(`tool types with control and non-ASCII characters (stream: ${stream}): answered, the header names them`, async (t) => {
    const response = await post(gateway.url, { tools: odd.map((type) => ({ type })), stream })
    t.equal(response.status, 200)
    const text = await response.text()
    t.match(text, stream ? /event: response\.completed/ : /"status":"completed"/, 'the answer is complete')
    t.same(omitted(response), odd.map((type) => `tools.${type}`).sort(), 'every omitted tool, its type read back exactly')
    t.equal(response.headers.get('x-evil'), null, 'no header of the caller making')
  })
}

t.test('a call that fails after translation keeps its status with the header', async (t) => {
  const response = await post(slow.url, { tools: [{ type: 'snow\u2603man' }] })
  t.equal(response.status, 504, 'the timeout, not a 500')
  t.same(omitted(response), ['tools.snow\u2603man'])
})

t.test('thousands of tool types: a header a client reads, cut at an entry', async (t) => {
  const response = await post(gateway.url, { tools: Array.from({ length: 3000 }, (_, i) => ({ type: `hosted_tool_number_${i}` })) })
  t.equal(response.status, 200, 'fetch read the answer (its limit is 16 KiB of headers)')
  const header = response.headers.get('x-gateway-omitted') ?? ''
  t.ok(header.length <= 4096, `${header.length} characters`)
  t.match(header, /^tools\.hosted_tool_number_0, .*, tools\.hosted_tool_number_\d+, \.\.\.$/, 'whole entries, then an ellipsis')
})
