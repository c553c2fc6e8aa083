// What the demo answers: the caller's last turn, not a system note a client appends after it
// (Claude Code ends its messages with a `role: "system"` one).
import t from 'tap'
import { PROMPT_WINDOW, planTurn } from '../../../src/providers/demo/turn.ts'
import type { ChatRequest } from '../../../src/core/types.ts'

t.test('a system message after the user turn is not the prompt', async (t) => {
  const request = {
    model: 'demo-chat',
    messages: [
      { role: 'user', content: 'What is OpenTelemetry?' },
      { role: 'system', content: 'Reminder: keep answers short.' },
    ],
  } as ChatRequest
  const turn = planTurn(request, 'demo-chat')
  t.match(turn.content, /You said: "What is OpenTelemetry\?"/)
  t.notMatch(turn.content, /Reminder/)
})

t.test('a conversation of system messages alone is still answered', async (t) => {
  const turn = planTurn({ model: 'demo-chat', messages: [{ role: 'system', content: 'Only this.' }] } as ChatRequest, 'demo-chat')
  t.match(turn.content, /Only this\./)
})

t.test('a prompt of megabytes is read from its start only: the same turn as for its first PROMPT_WINDOW characters', async (t) => {
  // 10 MB of dots after a sum: each step of the demo (pick, arithmetic, ids) reads a bounded piece,
  // so the largest body cannot hold the event loop (test/hardening/event-loop.test.ts drives it).
  const calculator = { type: 'function', function: { name: 'calculator', parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] } } }
  const ask = (content: string) => planTurn({ model: 'demo-chat', messages: [{ role: 'user', content }], tools: [calculator] } as ChatRequest, 'demo-chat')
  const start = 'What is 2 + 3? ' + '.'.repeat(PROMPT_WINDOW)
  const huge = ask(start + '.'.repeat(10 * 1024 * 1024) + ' 9 * 9 * 9 * 9 * 9 * 9')
  t.same(huge, ask(start.slice(0, PROMPT_WINDOW)), 'the same tool call, id included')
  t.same(JSON.parse(huge.toolCall!.arguments), { expression: '2 + 3' }, 'the arithmetic at its start')
})
