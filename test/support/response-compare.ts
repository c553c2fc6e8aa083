// Two translations of one answer into a Response differ in their ids and clocks (random ids,
// creation and completion times); this is the Response with those fixed, for deep comparison.

type Json = Record<string, unknown>

export function comparableResponse(response: unknown): Json {
  const r = structuredClone(response) as Json
  r.id = 'resp'
  r.created_at = 0
  if (r.completed_at != null) r.completed_at = 1
  r.output = (r.output as Json[]).map((item) => ({ ...item, id: String(item.id).split('_')[0] }))
  return r
}
