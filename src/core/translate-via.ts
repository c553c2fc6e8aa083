// Two translators in a row, through the API they share: responses → chat composed with
// chat → messages is responses → messages. The caller's body goes through the outer translator
// then the inner one; the upstream's answer (or each stream event) back through the inner then
// the outer. The facts (usage above all) are the inner translator's: it is the one that read the
// provider's own counts (cache writes included), which the middle API may not be able to carry.
import type { AnswerFacts, StreamEvent, StreamTranslator, TranslatedAnswer, Translator, UpstreamRequest } from './translator.ts'

type Json = Record<string, unknown>

export function via(outer: Translator, inner: Translator): Translator {
  if (outer.upstream !== inner.ingress) {
    throw new Error(`Cannot compose ${outer.ingress}→${outer.upstream} with ${inner.ingress}→${inner.upstream}`)
  }
  /**
   * The middle body of each caller body request() saw, so response() and stream() hand the inner
   * translator the request it translated (its answer may depend on it: a forced JSON tool). A body
   * not seen (a dispatch that copied it) is translated again, with the model it names.
   */
  const middles = new WeakMap<Json, Json>()
  const middleOf = (request: Json): Json =>
    middles.get(request) ?? outer.request(request, String(request.model ?? ''), false).body

  return {
    ingress: outer.ingress,
    upstream: inner.upstream,

    request(body: Json, model: string, stream: boolean): UpstreamRequest {
      const middle = outer.request(body, model, stream)
      middles.set(body, middle.body)
      const last = inner.request(middle.body, model, stream)
      const omitted = [...(middle.omitted ?? []), ...(last.omitted ?? [])]
      return omitted.length > 0 ? { body: last.body, omitted } : { body: last.body }
    },

    response(upstream: Json, request: Json): TranslatedAnswer {
      const middle = inner.response(upstream, middleOf(request))
      const answer = outer.response(middle.body, request)
      return { ...factsOf(middle), body: answer.body }
    },

    stream(request: Json): StreamTranslator {
      const first = inner.stream(middleOf(request))
      const second = outer.stream(request)
      const between: StreamEvent[] = []
      const forward = (out: StreamEvent[]) => {
        for (const event of between) second.push(event, out)
        between.length = 0
      }
      return {
        push(event: StreamEvent, out: StreamEvent[]): void {
          first.push(event, between)
          forward(out)
        },
        end(out: StreamEvent[]): void {
          first.end(between)
          forward(out)
          second.end(out)
        },
        facts: () => first.facts(),
      }
    },
  }
}

function factsOf(answer: AnswerFacts): AnswerFacts {
  return { usage: answer.usage, model: answer.model, id: answer.id, finishReasons: answer.finishReasons }
}
