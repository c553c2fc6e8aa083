// The emulator's answer to POST /v1/embeddings. No public recording of an embeddings exchange
// exists among the fixtures, so the shape is built from OpenAI's OpenAPI document
// (openai/openai-openapi, openapi.yaml: `CreateEmbeddingResponse`, `Embedding` and the
// createEmbedding example): `{object: 'list', data: [{object: 'embedding', index, embedding}],
// model, usage: {prompt_tokens, total_tokens}}`. Like the API, `encoding_format: 'base64'` (what
// the `openai` SDK asks for by default, then decodes) returns each vector as the base64 of its
// little-endian float32 bytes instead of an array of numbers.

type Json = Record<string, unknown>

/** The vector length when the request names no `dimensions` (the API's are 1536 or 3072; tests need few). */
export const EMBEDDING_DIMENSIONS = 8

/**
 * The inputs of an embeddings request, one per vector: a string, a list of strings, a token
 * array (numbers) or a list of token arrays, as the API accepts.
 */
function inputs(input: unknown): (string | number[])[] {
  if (typeof input === 'string') return [input]
  if (!Array.isArray(input)) return []
  if (input.every((x) => typeof x === 'number')) return [input as number[]]
  return input.map((x) => (Array.isArray(x) ? (x as number[]) : String(x)))
}

/**
 * The emulator's token count for one input: a token array's length, or a text's characters / 4
 * rounded up (OpenAI's rule of thumb; there is no tokenizer here). Tests that check metering
 * compute their expectation with this function.
 */
export function emulatedTokens(input: string | number[]): number {
  return Array.isArray(input) ? input.length : Math.max(1, Math.ceil(input.length / 4))
}

/** A deterministic unit vector per input index, so a test can compare what reached the caller. */
export function emulatedVector(index: number, dimensions: number): number[] {
  const raw = Array.from({ length: dimensions }, (_, d) => Math.sin(index * 7 + d + 1))
  const norm = Math.hypot(...raw) || 1
  // Rounded through float32, so the array and the base64 forms decode to the same numbers.
  return Array.from(new Float32Array(raw.map((x) => x / norm)))
}

/** The answer to an embeddings request body (already parsed; anything malformed gives no vectors). */
export function embeddingsAnswer(request: unknown, options: { dimensions?: number } = {}): Json {
  const body = typeof request === 'object' && request !== null ? (request as Json) : {}
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : (options.dimensions ?? EMBEDDING_DIMENSIONS)
  const base64 = body.encoding_format === 'base64'
  const list = inputs(body.input)
  const tokens = list.reduce((sum, input) => sum + emulatedTokens(input), 0)
  return {
    object: 'list',
    data: list.map((_, index) => {
      const vector = emulatedVector(index, dimensions)
      const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector
      return { object: 'embedding', index, embedding }
    }),
    model: typeof body.model === 'string' ? body.model : 'text-embedding-3-small',
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  }
}
