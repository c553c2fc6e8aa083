// What the demo answers: the caller's last turn, not a system note a client appends after it
// (Claude Code ends its messages with a `role: "system"` one).
import t from 'tap'
import { planTurn } from '../../../src/providers/demo/turn.ts'
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
