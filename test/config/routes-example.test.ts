// The route groups example users copy: gateway.routes.example.json is the JSON block the README's
// "Routing" section shows, and it loads as it stands (every provider, group and cache setting
// valid), so the documentation cannot drift from what the gateway accepts.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { loadConfig } from '../../src/config.ts'

const root = new URL('../../', import.meta.url)
const examplePath = new URL('gateway.routes.example.json', root).pathname
const example = JSON.parse(readFileSync(examplePath, 'utf8')) as Record<string, unknown>

t.test("the README's routing example is gateway.routes.example.json", async (t) => {
  const readme = readFileSync(new URL('README.md', root), 'utf8')
  const section = readme.slice(readme.indexOf('## Routing'))
  const block = /```json\n([\s\S]*?)\n```/.exec(section)?.[1]
  t.ok(block, 'the Routing section opens with a JSON block')
  t.same(JSON.parse(block!), example, 'the same configuration')
})

t.test('the example loads: its second account, groups and cache as written', async (t) => {
  const config = loadConfig({ GATEWAY_CONFIG: examplePath, OPENAI_API_KEY: 'sk-a', ANTHROPIC_API_KEY: 'sk-ant-b', OPENAI_BATCH_API_KEY: 'sk-c' })
  t.match(config.providers['openai-batch'], { type: 'openai', baseURL: 'https://api.openai.com/v1' }, 'another OpenAI account, at OpenAI by default')
  t.same(Object.keys(config.routes).sort(), ['fast', 'smart'])
  t.equal(config.routes.smart!.strategy, 'fallback')
  t.equal(config.routes.fast!.strategy, 'loadbalance')
  t.same(config.routes.fast!.cache, { ttlSeconds: 600 })
  t.ok(config.routes.smart!.targets.some((target) => target.contextFallback), 'smart has a contextFallback target')
  t.ok(config.secrets.includes('sk-c'), "the second account's key is a secret like the others")
})
