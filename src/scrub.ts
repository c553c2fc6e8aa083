// Secrets out of text that came from outside the gateway: upstream error messages and MCP tool
// output, before they reach a caller, a model, a span or a log line. Exact matches are not
// enough: OpenAI answers a bad key with "Incorrect API key provided: sk-proj-****abcd", others
// print a key cut short or with its middle elided, and an MCP server may echo the token it was
// started with. So, besides every configured secret whole, a word is redacted when
// - it holds a fragment of a configured secret: 11 characters of it in a row, or its first or
//   last 4 next to a mask (`**`, `…`, `...`);
// - with `keyShapes` (upstream error text, which has no business quoting keys): it starts like
//   an API key (`sk-`, `sk-ant-`, `xai-`, `AIza` …) or is masked at all.
// Tool results keep key-shaped words that are not ours: a tool may legitimately print `sk-…`.
// Linear in the text: one pass of a regular expression without backtracking, then set lookups.

const REDACTED = '[redacted]'
/** A word: a run of characters other than spaces, quotes, brackets and separators. */
const WORD = /[^\s"'`()<>[\]{},;:=|]+/g
/** Characters masked or elided inside a word (`sk-proj-****abcd`, `sk-...abcd`), not at its ends (`**bold**`, `wait...`). */
const MASK_INSIDE = /[\w-](?:\*{2,}|…|\.{3,})[\w-]/
/** A mask anywhere: enough next to a fragment of a configured secret (`…abcd`). */
const MASK_ANYWHERE = /\*\*|…|\.\.\./
/** Prefixes of the common providers' API keys (OpenAI, Anthropic, xAI, Groq, Google, Hugging Face, GitHub, AWS, Slack …). */
const KEY_PREFIX = /^(?:(?:sk|rk|xai|gsk|hf|ghp|gho|ghs|ghu|github_pat|glpat|pplx|nvapi|r8|xox[abpr])[-_]|AIza|AKIA|ASIA)/
/** Characters a word must have past its key prefix to be taken as a key, not a mention of one. */
const MIN_KEY_TAIL = 4
/** A fragment of a configured secret of WINDOW + STRIDE - 1 (11) characters or more is a leak of it. */
const WINDOW = 8
const STRIDE = 4
/** Secrets shorter than this are matched whole only (their windows would match ordinary words). */
const MIN_WINDOWED_SECRET = 12
/** Longer words are not searched for fragments (a blob, not a leaked key: bounded work). */
const MAX_SEARCHED_WORD = 1_000
const DIGIT = /\d/
/** The texts a scrubber remembers (the last ones, up to this many; then it starts again) and their longest. */
const MAX_REMEMBERED = 64
const MAX_REMEMBERED_TEXT = 1_000

export interface ScrubOptions {
  /** Also redact anything shaped like an API key or masked, ours or not. */
  keyShapes?: boolean
  /**
   * Remember the short texts scrubbed lately and what they became: for upstream error messages,
   * which an upstream that fails says again to every call. Not for text read in pieces (a log's
   * lines): a remembered slice of a larger string keeps all of it alive.
   */
  remember?: boolean
}

export class SecretScrubber {
  readonly #secrets: string[]
  /** Every 8-character window, with a letter and a digit, of every long-enough secret. */
  readonly #windows = new Set<string>()
  /** First and last 4 characters of each secret: what a masked form keeps. */
  readonly #edges = new Set<string>()
  readonly #keyShapes: boolean
  /** With `remember`: short texts scrubbed lately, and what they became. */
  readonly #recent: Map<string, string> | undefined

  constructor(secrets: readonly string[], options: ScrubOptions = {}) {
    // Longest first, so a secret that contains another is replaced whole.
    this.#secrets = [...new Set(secrets.filter((secret) => secret.length >= 4))].sort((a, b) => b.length - a.length)
    this.#keyShapes = options.keyShapes ?? false
    this.#recent = options.remember ? new Map() : undefined
    for (const secret of this.#secrets) {
      if (secret.length >= 8) {
        this.#edges.add(secret.slice(0, 4))
        this.#edges.add(secret.slice(-4))
      }
      if (secret.length < MIN_WINDOWED_SECRET) continue
      for (let i = 0; i + WINDOW <= secret.length; i++) {
        const window = secret.slice(i, i + WINDOW)
        if (/[a-zA-Z]/.test(window) && DIGIT.test(window)) this.#windows.add(window)
      }
    }
  }

  scrub(text: string): string {
    const recent = this.#recent
    // A long text is not looked up: finding it would read it whole once more.
    if (recent === undefined || text.length > MAX_REMEMBERED_TEXT) return this.#scrubbed(text)
    const known = recent.get(text)
    if (known !== undefined) return known
    const out = this.#scrubbed(text)
    if (recent.size >= MAX_REMEMBERED) recent.clear()
    recent.set(text, out)
    return out
  }

  #scrubbed(text: string): string {
    let out = text
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
    if (!this.#keyShapes && this.#windows.size === 0 && this.#edges.size === 0) return out
    return out.replace(WORD, (word) => {
      // A sentence's full stop is not part of the key before it.
      let end = word.length
      while (end > 0 && word.charCodeAt(end - 1) === 46 /* . */ && !word.endsWith('...', end)) end--
      const core = word.slice(0, end)
      return this.#isSecret(core) ? REDACTED + word.slice(end) : word
    })
  }

  #isSecret(word: string): boolean {
    if (word.length < 4 || word === REDACTED) return false
    if (this.#keyShapes) {
      if (MASK_INSIDE.test(word)) return true
      const prefix = KEY_PREFIX.exec(word)
      if (prefix && word.length - prefix[0].length >= MIN_KEY_TAIL) return true
    }
    if (this.#edges.size > 0 && MASK_ANYWHERE.test(word)) {
      for (const edge of this.#edges) if (word.includes(edge)) return true
    }
    // Every window holds a digit: a word without one cannot hold a fragment.
    if (this.#windows.size > 0 && word.length >= WINDOW && word.length <= MAX_SEARCHED_WORD && DIGIT.test(word)) {
      // Every 4th offset: a fragment of WINDOW + STRIDE - 1 characters or more holds a window there.
      for (let i = 0; i + WINDOW <= word.length; i += STRIDE) if (this.#windows.has(word.slice(i, i + WINDOW))) return true
    }
    return false
  }
}
