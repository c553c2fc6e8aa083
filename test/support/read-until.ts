// Reading a streamed answer part of the way: enough to know the stream is under way (or has
// reached some event) before the test hangs up, sends a signal or lets it finish.

/** What an OpenAI chat stream shows once a chunk has carried some text. */
export const FIRST_CONTENT = /"content":"[^"]+"/

export interface PartialBody {
  /** Everything read so far. */
  text: string
  /** Reads on to the end: the whole body, `text` included, or as much as came before a cut. */
  rest(): Promise<string>
}

/** Reads `response`'s body until what was read contains `until` (or the body ends). */
export async function readUntil(response: Response, until: string | RegExp): Promise<PartialBody> {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  const reached = (text: string) => (typeof until === 'string' ? text.includes(until) : until.test(text))
  let text = ''
  while (!reached(text)) {
    const { value, done } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
  }
  return {
    text,
    async rest(): Promise<string> {
      let all = text
      try {
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          all += decoder.decode(value, { stream: true })
        }
      } catch {
        // cut by the server: what arrived is what the caller got
      }
      return all
    },
  }
}
