// Preloaded into Portkey (`node --import`): Portkey 1.15.2 appends its x-portkey-* headers to the
// fetch Response of a stream as it came from fetch(), whose headers are immutable under Node's
// fetch, so every streamed request fails with `TypeError: immutable` (a 500). Re-wrapping the
// streamed Responses (the body is passed on, not copied) gives them mutable headers; JSON
// answers are untouched, since Portkey builds new Responses for those itself.
const original = globalThis.fetch
globalThis.fetch = async (input, init) => {
  const response = await original(input, init)
  if (!response.headers.get('content-type')?.includes('text/event-stream')) return response
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: response.headers })
}
