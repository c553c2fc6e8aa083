// The kinds of value an environment variable holds, as zod schemas for the one schema in
// ../config.ts. Each reads an unset, empty or blank variable as unset, as the OpenTelemetry SDK
// does (`getStringFromEnv`), so `.env.example`'s `GATEWAY_API_KEYS=` means "not set". A bad value
// becomes an issue whose message follows the variable's name (`PORT must be …, got "x"`), and the
// object schema collects every one, so a start-up names all the bad values at once.
import { z } from 'zod'

/** What a parse returns for a bad value: what is wrong, said after the variable's name (a file may have several). */
export class Problem {
  readonly messages: string[]
  constructor(messages: string | string[]) {
    this.messages = typeof messages === 'string' ? [messages] : messages
  }
}

/** The value trimmed; undefined when unset or blank. */
export const text = z
  .string()
  .optional()
  .transform((value) => value?.trim() || undefined)

/** A variable read by `parse` when set; `fallback` when not. */
export function variable<T, F extends T | undefined = undefined>(parse: (raw: string) => T | Problem, fallback?: F) {
  return text.transform((value, ctx): T | F => {
    if (value === undefined) return fallback as F
    const parsed = parse(value)
    if (!(parsed instanceof Problem)) return parsed
    for (const message of parsed.messages) ctx.addIssue({ code: 'custom', message })
    return z.NEVER
  })
}

export function wholeNumber<F extends number | undefined>(fallback: F, min: number, max: number) {
  return variable((raw): number | Problem => {
    const value = Number(raw)
    return Number.isInteger(value) && value >= min && value <= max
      ? value
      : new Problem(`must be a whole number from ${min} to ${max}, got "${raw}"`)
  }, fallback)
}

/**
 * `true` or `false`, in any case. The OpenTelemetry specification allows no other spelling;
 * `digits` also takes 1 and 0, which the gateway's own flags always have.
 */
export function flag(fallback: boolean, { digits = false } = {}) {
  return variable((raw) => {
    const value = raw.toLowerCase()
    if (value === 'true' || (digits && value === '1')) return true
    if (value === 'false' || (digits && value === '0')) return false
    return new Problem(`must be true or false, got "${raw}"`)
  }, fallback)
}

/**
 * One of `values`, exactly: the SDK compares most of its values as written (`ALWAYS_ON` is an
 * unknown sampler to it). `anyCase` where the reader lowercases first.
 */
export function oneOf<const T extends string>(values: readonly T[], { why = '', anyCase = false } = {}) {
  return variable((raw): T | Problem => {
    const value = anyCase ? raw.toLowerCase() : raw
    return (values as readonly string[]).includes(value)
      ? (value as T)
      : new Problem(`must be ${values.length === 1 ? '' : 'one of '}${values.join(', ')}${why}, got "${raw}"`)
  })
}

/** Whether `raw` is an absolute http: or https: URL. */
export function isHttpUrl(raw: string): boolean {
  try {
    const { protocol } = new URL(raw)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
}

/** An http(s) URL, without trailing slashes (the SDKs append their paths). */
export function httpUrl<F extends string | undefined = undefined>(fallback?: F) {
  return variable((raw) => (isHttpUrl(raw) ? raw.replace(/\/+$/, '') : new Problem(`must be an http(s) URL, got "${raw}"`)), fallback)
}
