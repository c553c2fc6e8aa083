// What the recent-traces list and the X-ray page show (issue 10, new-user items 7 and 8): the list
// holds the LLM traffic by default — not the SDKs' own GET /v1/models lookups — and every trace
// with ?all=1 (a link on the page leads there and back); an evaluation card draws each criterion
// on its own scale, not as a share of the largest score in the card.
import t from 'tap'
import { startGateway } from '../support/gateway.ts'
import { call, CHAT, waitForTrace, type Json } from './helpers.ts'

t.setTimeout(120_000)

const gateway = await startGateway({ timeoutMs: 45_000 })
t.teardown(() => gateway.stop())

const traceOf = (answer: { headers: Headers }) => answer.headers.get('x-trace-id')!
const listed = async (query = '') => ((await call(`${gateway.url}/v1/traces${query}`)).json.data as Json[]).map((s) => s.trace_id as string)

t.test('the list shows model calls, agent runs, evaluations and POSTs; ?all=1 shows every trace', async (t) => {
  const client = gateway.client()
  // What an SDK does before and around its calls: list and retrieve models, read the tool list.
  const models = await client.models.list().withResponse()
  const model = await client.models.retrieve('demo-chat').withResponse()
  const tools = await call(`${gateway.url}/v1/agents/tools`)
  const lookups = [traceOf(models.response), traceOf(model.response), traceOf(tools)]
  t.equal(lookups.filter(Boolean).length, 3, 'the lookups are traced')

  const chat = await call(`${gateway.url}/v1/chat/completions`, { body: CHAT })
  const refused = await call(`${gateway.url}/v1/chat/completions`, { body: { ...CHAT, model: 'nope-model' } })
  t.equal(refused.status, 404)
  const evaluation = await call(`${gateway.url}/v1/evaluations`, {
    body: { trace_id: chat.json.trace_context.trace_id, span_id: chat.json.trace_context.span_id, name: 'q', scores: { a: 1 } },
  })
  t.equal(evaluation.status, 200)
  const wanted = [chat.json.trace_context.trace_id, traceOf(refused), evaluation.json.trace_context.trace_id]
  const lastLookup = await call(`${gateway.url}/v1/models`)
  lookups.push(traceOf(lastLookup))
  for (const id of [...wanted, ...lookups]) await waitForTrace(gateway.url, id)

  const byDefault = await call(`${gateway.url}/v1/traces`)
  t.equal(byDefault.json.all, false)
  const defaultIds = (byDefault.json.data as Json[]).map((s) => s.trace_id)
  for (const id of wanted) t.ok(defaultIds.includes(id), `${id} (chat, refused chat, evaluation) is listed`)
  for (const id of lookups) t.notOk(defaultIds.includes(id), `${id} (a GET lookup) is not`)
  t.notOk((byDefault.json.data as Json[]).some((s) => String(s.root).startsWith('GET ')), 'no GET request among them')
  t.same(await listed('?limit=1'), [wanted[2]], 'limit counts the listed traces: the newest one that is not a lookup')

  const all = await call(`${gateway.url}/v1/traces?all=1`)
  t.equal(all.json.all, true)
  const allIds = (all.json.data as Json[]).map((s) => s.trace_id)
  for (const id of [...wanted, ...lookups]) t.ok(allIds.includes(id), `${id} is in ?all=1`)
  t.equal(allIds[0], lookups.at(-1), 'newest first, lookups included')
  t.same(await listed('?all=true'), allIds, '?all=true is the same')
  t.same(await listed('?all=0'), defaultIds, '?all=0 is the default')
  const bad = await call(`${gateway.url}/v1/traces?all=yes`)
  t.equal(bad.status, 400)
  t.match(bad.json.error, { param: 'all', message: /`all` must be 1/ })

  const page = await call(`${gateway.url}/traces`)
  t.equal(page.status, 200)
  t.match(page.text, /<a class="scope" href="\/traces\?all=1">show all traces<\/a>/, 'the page links to every trace')
  for (const id of wanted) t.match(page.text, `data-trace-id="${id}"`)
  for (const id of lookups) t.notMatch(page.text, id, 'no lookup on the default page')
  const allPage = await call(`${gateway.url}/traces?all=1`)
  t.match(allPage.text, /<a class="scope" href="\/traces">show only model calls, agent runs and evaluations<\/a>/, 'and back')
  for (const id of [...wanted, ...lookups]) t.match(allPage.text, `data-trace-id="${id}"`)
  t.equal((await call(`${gateway.url}/traces?all=2`)).status, 400)
})

t.test('the evaluation card draws each criterion on its own scale', async (t) => {
  const chat = await call(`${gateway.url}/v1/chat/completions`, { body: CHAT })
  const { trace_id: traceId, span_id: spanId } = chat.json.trace_context
  // The case (accuracy 0.9 beside clarity 4 drew 22 %), and the other common scales.
  const scores = { accuracy: 0.9, clarity: 4, relevance: 7, overall: 85, perfect: 1, zero: 0, delta: -2, tokens: 250 }
  const evaluation = await call(`${gateway.url}/v1/evaluations`, { body: { trace_id: traceId, span_id: spanId, name: 'quality', scores } })
  t.equal(evaluation.status, 200)
  await waitForTrace(gateway.url, traceId, (d) => d.evaluations.length === 1)
  const page = (await call(`${gateway.url}/traces/${traceId}`)).text

  const meter = (criterion: string) =>
    new RegExp(`<li><span class="criterion">${criterion}</span>(<span class="meter[^"]*"[^>]*>(?:<i style="width:([\\d.]+)%"></i>)?</span>)<span class="value">([^<]*)</span></li>`).exec(page)
  const expected: Record<string, [scale: number, width: string]> = {
    accuracy: [1, '90.0'],
    clarity: [5, '80.0'],
    relevance: [10, '70.0'],
    overall: [100, '85.0'],
    perfect: [1, '100.0'],
    zero: [1, '0.0'],
  }
  for (const [criterion, [scale, width]] of Object.entries(expected)) {
    const found = meter(criterion)
    t.ok(found, `${criterion} is on the card`)
    t.equal(found?.[2], width, `${criterion} ${scores[criterion as keyof typeof scores]} fills ${width} % of its bar`)
    t.match(found?.[1], `data-scale="${scale}" title="${scores[criterion as keyof typeof scores]} on a 0–${scale} scale"`, `read on 0–${scale}`)
    t.equal(found?.[3], String(scores[criterion as keyof typeof scores]), 'and the number is shown')
  }
  for (const criterion of ['delta', 'tokens']) {
    const found = meter(criterion)
    t.ok(found, `${criterion} is on the card`)
    t.match(found?.[1], /^<span class="meter none" title="[^"]*not on a 0–1, 0–5, 0–10 or 0–100 scale"><\/span>$/, `${criterion}: on no common scale, no bar`)
    t.equal(found?.[3], String(scores[criterion as keyof typeof scores]), 'only its number')
  }
})
