// Issue 10, defect 5: any `demo-<anything>` model name was served and became a metric label
// value, so a caller could grow /metrics without bound. The demo serves exactly the models it
// lists (GET /v1/models); every other name, bare or as `demo/…`, is a 404 `model_not_found` on
// `model`, on every route, before telemetry names it.
import t from 'tap'
import OpenAI from 'openai'
import { startGateway } from '../support/gateway.ts'
import { scrapeMetrics } from '../support/prometheus.ts'
import { expectError } from '../http/error-shape.ts'

t.setTimeout(180_000) // generous: CI shares its two cores, and each step starts or waits on a process
const gateway = await startGateway({ timeoutMs: 60_000 }) // generous: CI shares its cores
t.teardown(() => gateway.stop())
const client = gateway.client()

const UNKNOWN = ['demo-anything', 'demo-chat2', 'demo-', 'demo/demo-anything', 'demo/gpt-4o']

t.test('unknown demo names are refused with 404 model_not_found, streamed or not', async (t) => {
  for (const model of UNKNOWN) {
    for (const stream of [false, true]) {
      const error = await client.chat.completions
        .create({ model, stream, messages: [{ role: 'user', content: 'hi' }] })
        .then(() => undefined, (e: unknown) => e)
      t.ok(error instanceof OpenAI.NotFoundError, `${model} (stream ${stream}): a 404`)
      const apiError = error as InstanceType<typeof OpenAI.NotFoundError>
      t.equal(apiError.param, 'model', 'on param model')
      t.match(apiError.message, /demo-chat, demo-reasoner/, 'naming the models the demo serves')
    }
  }
})

t.test('the reasoning agent refuses them too', async (t) => {
  const response = await fetch(`${gateway.url}/v1/agents/reasoning`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-anything', messages: [{ role: 'user', content: 'Solve: 1 + 1' }] }),
  })
  await expectError(t, response, { status: 404, type: 'invalid_request_error', param: 'model', message: /demo-anything/ })
})

t.test('the listed demo models still answer, bare and as demo/…', async (t) => {
  for (const model of ['demo-chat', 'demo-reasoner', 'demo/demo-chat']) {
    const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })
    t.match(completion.choices[0]?.message.content, /offline demo provider/, model)
  }
})

t.test('no refused name reaches /metrics; the served ones do', async (t) => {
  const text = await scrapeMetrics(gateway.url)
  t.match(text, /llm_model="demo-chat"/, 'served models are labels (so the check below can fail)')
  for (const model of UNKNOWN) t.notOk(text.includes(`"${model.replace(/^demo\//, '')}"`), `${model} is no label value`)
})
