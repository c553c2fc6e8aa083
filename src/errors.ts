// Every error the gateway answers with, declared once: HTTP status, OpenAI error `type`, the
// Anthropic error `type` (for /v1/messages), and the low-cardinality `error.type` recorded on
// spans and as the `error_type` metric label. One table, so status, bodies and telemetry cannot
// drift apart.

export const ERRORS = {
  invalid_request: { status: 400, type: 'invalid_request_error', anthropic: 'invalid_request_error' },
  unauthorized: { status: 401, type: 'invalid_request_error', anthropic: 'authentication_error' },
  /** A key let in but not for this: a model outside its allow-list, the admin API without the master key. */
  forbidden: { status: 403, type: 'invalid_request_error', anthropic: 'permission_error' },
  not_found: { status: 404, type: 'invalid_request_error', anthropic: 'not_found_error' },
  model_not_found: { status: 404, type: 'invalid_request_error', anthropic: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', anthropic: 'invalid_request_error' },
  request_timeout: { status: 408, type: 'invalid_request_error', anthropic: 'invalid_request_error' },
  payload_too_large: { status: 413, type: 'invalid_request_error', anthropic: 'request_too_large' },
  headers_too_large: { status: 431, type: 'invalid_request_error', anthropic: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', anthropic: 'invalid_request_error' },
  rate_limited: { status: 429, type: 'rate_limit_error', anthropic: 'rate_limit_error' },
  /** A key's or team's budget is spent (OpenAI's `insufficient_quota`; Anthropic has no closer type). */
  quota_exceeded: { status: 429, type: 'insufficient_quota', anthropic: 'rate_limit_error' },
  upstream_error: { status: 502, type: 'api_error', anthropic: 'api_error' },
  upstream_auth: { status: 502, type: 'api_error', anthropic: 'api_error' },
  /** Anthropic's 529 and `overloaded_error` (also inside a stream): busy, worth a retry later. */
  upstream_overloaded: { status: 503, type: 'api_error', anthropic: 'overloaded_error' },
  connection_error: { status: 502, type: 'api_error', anthropic: 'api_error' },
  timeout: { status: 504, type: 'timeout_error', anthropic: 'api_error' },
  cancelled: { status: 499, type: 'cancelled', anthropic: 'api_error' },
  unavailable: { status: 503, type: 'api_error', anthropic: 'api_error' },
  internal: { status: 500, type: 'api_error', anthropic: 'api_error' },
} as const satisfies Record<string, { status: number; type: string; anthropic: string }>

export type ErrorKind = keyof typeof ERRORS

export interface GatewayErrorOptions {
  /** The request field at fault, as OpenAI's `param`. */
  param?: string | null
  /** OpenAI's `code`; defaults to the kind. */
  code?: string | null
  /** Overrides the status of the kind (an upstream 400/404/422 is passed on as it came). */
  status?: number
  /** Response headers to pass on (`retry-after`). */
  headers?: Record<string, string>
  cause?: unknown
}

/**
 * An error that reports what a peer answered (an upstream's status, an error event in its stream,
 * a refused connection) rather than a failure of the gateway: it gets no stack, whose capture costs
 * more than the rest of a failed attempt's bookkeeping (about 10 µs each, bench/RESULTS.md).
 */
export class AnswerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      super(message, options)
    } finally {
      Error.stackTraceLimit = limit
    }
  }
}

export class GatewayError extends Error {
  readonly kind: ErrorKind
  readonly status: number
  readonly param: string | null
  readonly code: string | null
  readonly headers: Record<string, string>

  constructor(kind: ErrorKind, message: string, options: GatewayErrorOptions = {}) {
    // Only a failure of the gateway itself (`internal`) gets a stack, for its log line: the others
    // are answers (a refused request, an upstream's status), as AnswerError says.
    const limit = Error.stackTraceLimit
    if (kind !== 'internal') Error.stackTraceLimit = 0
    try {
      super(message, options.cause === undefined ? undefined : { cause: options.cause })
    } finally {
      Error.stackTraceLimit = limit
    }
    this.name = 'GatewayError'
    this.kind = kind
    this.status = options.status ?? ERRORS[kind].status
    this.param = options.param ?? null
    this.code = options.code === undefined ? kind : options.code
    this.headers = options.headers ?? {}
  }

  /** The value recorded as `error.type` on spans and `error_type` on metrics. */
  get errorType(): string {
    return this.kind
  }

  /** Anthropic's error body, for the Messages API (the caller adds `trace_context`). */
  toAnthropicBody(): { type: 'error'; error: { type: string; message: string } } {
    // An upstream 413 passed on as a 4xx keeps Anthropic's name for it.
    const type = this.status === 413 ? 'request_too_large' : ERRORS[this.kind].anthropic
    return { type: 'error', error: { type, message: this.message } }
  }

  /** OpenAI's error body (the caller adds `trace_context`). */
  toBody(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return {
      error: { message: this.message, type: ERRORS[this.kind].type, param: this.param, code: this.code },
    }
  }
}

export function invalidRequest(message: string, param: string | null = null): GatewayError {
  return new GatewayError('invalid_request', message, { param, code: null })
}

/** Anything thrown that is not a GatewayError is a bug of ours: a 500 that says nothing inside. */
export function asGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error
  return new GatewayError('internal', 'The gateway failed to handle this request.', { cause: error })
}
