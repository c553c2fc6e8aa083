// The dispatch's walk over a route group's targets, driven directly with in-process adapters (no
// network): a caller already gone is a cancellation, not "no target available"; a target whose API
// cannot express the request is passed over for one that can, whichever comes first; and a bug of
// ours while preparing a target is not mistaken for such a refusal.
import t from 'tap'
import { Dispatch } from '../../src/core/dispatch.ts'
import { chatIngress } from '../../src/core/ingress/chat.ts'
import { ModelRouter } from '../../src/core/router.ts'
import type { Translator } from '../../src/core/translator.ts'
import type { ProviderAdapter, UpstreamReply } from '../../src/core/types.ts'
import { GatewayError } from '../../src/errors.ts'
import { PriceBook } from '../../src/pricing/cost.ts'
import type { RouteGroupConfig } from '../../src/config.ts'
import { translatorFor } from '../../src/providers/translators.ts'

const answer = (model: string): UpstreamReply => ({
  json: { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } },
})

function adapter(name: string, sent: string[]): ProviderAdapter {
  return {
    name,
    apis: ['chat'],
    endpoint: undefined,
    async send(_api, body) {
      sent.push(name)
      return answer(String(body.model))
    },
  }
}

function group(targets: string[], strategy: RouteGroupConfig['strategy'] = 'fallback'): RouteGroupConfig {
  return {
    strategy,
    targets: targets.map((provider) => ({ provider, model: 'm', weight: 1, contextFallback: false })),
    retries: 0,
    cooldown: { failures: 3, windowMs: 60_000, cooldownMs: 30_000 },
  }
}

function dispatchFor(adapters: ProviderAdapter[], routes: Record<string, RouteGroupConfig>, translators = translatorFor): Dispatch {
  const router = new ModelRouter(adapters, [], {}, new Set(), [], routes)
  return new Dispatch({ router, prices: new PriceBook([]), translatorFor: translators, captureContent: false, totalTimeoutMs: 5_000, maxRetries: 0 })
}

const body = { model: 'g', messages: [{ role: 'user', content: 'hi' }] }

t.test('a caller already gone when the call starts is a cancellation, for a group and a plain model', async (t) => {
  const sent: string[] = []
  const dispatch = dispatchFor([adapter('a', sent), adapter('b', sent)], { g: group(['a', 'b']) })
  const gone = new AbortController()
  gone.abort()
  for (const model of ['g', 'a/m']) {
    const result = await dispatch.call(chatIngress, { ...body, model }, gone.signal)
    t.ok('error' in result, `${model}: an error result`)
    if ('error' in result) t.strictSame([result.error.kind, result.error.status], ['cancelled', 499], `${model}: cancelled, not a 503 no_target_available`)
  }
  t.strictSame(sent, [], 'no upstream was called')
})

/** A translator that refuses what the first provider cannot express (as chatToMessages does for input_audio). */
function refusingFor(provider: string, refusal: () => never): typeof translatorFor {
  return (ingress, target, requested) => {
    const real = translatorFor(ingress, target, requested)
    if (target.name !== provider) return real
    return { ...real, request: () => refusal() } satisfies Translator
  }
}

t.test('a target that cannot express the request is passed over, whichever the loadbalance draw puts first', async (t) => {
  const sent: string[] = []
  const refusal = () => {
    throw new GatewayError('invalid_request', "Content parts of type 'input_audio' are not supported", { param: 'messages' })
  }
  const dispatch = dispatchFor([adapter('a', sent), adapter('b', sent)], { g: group(['a', 'b'], 'loadbalance') }, refusingFor('a', refusal))
  const statuses = new Set<string>()
  for (let i = 0; i < 40; i++) {
    const result = await dispatch.call(chatIngress, body, new AbortController().signal)
    statuses.add('json' in result ? `200 ${result.headers['x-gateway-target']}` : 'error')
  }
  t.strictSame([...statuses], ['200 b/m'], 'every call is answered, by the target that can take it')
  t.equal(sent.length, 40, 'one upstream call each')
  t.notOk(sent.includes('a'), 'none to the target that cannot express it')

  const none = dispatchFor([adapter('a', [])], { g: group(['a']) }, refusingFor('a', refusal))
  const refused = await none.call(chatIngress, body, new AbortController().signal).catch((error: unknown) => error)
  t.match(refused, { kind: 'invalid_request', status: 400 }, "when no target can, it is the caller's 400")
})

t.test('a bug of ours while preparing a target is thrown, not skipped as a refusal', async (t) => {
  const bug = () => {
    throw new TypeError('cannot read properties of undefined')
  }
  const dispatch = dispatchFor([adapter('a', []), adapter('b', [])], { g: group(['a', 'b']) }, refusingFor('a', bug))
  await t.rejects(dispatch.call(chatIngress, body, new AbortController().signal), TypeError)
})

t.test('an alias may name a route group: calls to it walk the group', async (t) => {
  const sent: string[] = []
  const router = new ModelRouter([adapter('a', sent), adapter('b', sent)], [], { fast: 'g' }, new Set(), [], { g: group(['a', 'b']) })
  t.equal(router.plan('fast').group?.name, 'g', 'the plan is the group')
  t.equal(router.resolve('fast').adapter.name, 'a', "and the alias's first target answers questions about it")
  const dispatch = new Dispatch({ router, prices: new PriceBook([]), translatorFor, captureContent: false, totalTimeoutMs: 5_000, maxRetries: 0 })
  const result = await dispatch.call(chatIngress, { ...body, model: 'fast' }, new AbortController().signal)
  t.ok('json' in result && result.headers['x-gateway-target'] === 'a/m', 'answered by the group')
})

t.test('onSettled is told once what a call used: an answer, a failure', async (t) => {
  const told: unknown[] = []
  const ok = dispatchFor([adapter('a', [])], {})
  const result = await ok.call(chatIngress, { ...body, model: 'a/m' }, new AbortController().signal, { onSettled: (spent) => told.push(spent) })
  t.ok('json' in result)
  t.match(told, [{ usage: { input: 1, output: 1 } }], 'the answer: its usage (no price here, so no cost)')
  const failing: ProviderAdapter = {
    name: 'f',
    apis: ['chat'],
    endpoint: undefined,
    send: async () => {
      throw new GatewayError('upstream_error', 'down')
    },
  }
  told.length = 0
  const failed = await dispatchFor([failing], {}).call(chatIngress, { ...body, model: 'f/m' }, new AbortController().signal, { onSettled: (spent) => told.push(spent) })
  t.ok('error' in failed)
  t.strictSame(told, [{ usage: undefined, costUsd: undefined }], 'a failure: told once, nothing used')
})
