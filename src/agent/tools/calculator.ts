// The `calculator` built-in tool: models are bad at arithmetic, so they get a small evaluator.
// The input is model-written (and, through prompt injection, possibly attacker-written), so this is
// a closed grammar over a hand-written tokenizer: nothing is ever handed to eval/Function/vm, names
// resolve only through Maps (never object properties), and length and nesting depth are bounded so
// that any input is rejected in microseconds without exhausting the stack.
//
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/' | '%') unary)*
//   unary   := ('+' | '-') unary | power
//   power   := primary ('^' unary)?            right-associative; -2^2 = -(2^2), 2^-1 = 0.5
//   primary := number | constant | function '(' expr (',' expr)* ')' | '(' expr ')'
//
// Positions in messages are 0-based character offsets, like JSON.parse's.
import type { AgentTool } from './types.ts'
import { ToolError } from './types.ts'

export const MAX_EXPRESSION_LENGTH = 1000
/** Parentheses, function calls, chained signs and chained powers each count one level. */
export const MAX_NESTING_DEPTH = 100

/** `variadic`: takes at least `arity` arguments. */
type Fn = { arity: number; variadic?: boolean; apply: (args: number[]) => number }
const unary = (f: (x: number) => number): Fn => ({ arity: 1, apply: (a) => f(a[0]!) })

// Maps, not object lookups, so that `constructor`, `__proto__`, `toString`… are unknown names.
const CONSTANTS = new Map<string, number>([['pi', Math.PI], ['e', Math.E]])
const FUNCTIONS = new Map<string, Fn>(Object.entries({
  sqrt: unary(Math.sqrt),
  abs: unary(Math.abs),
  // Half away from zero, as on a pocket calculator; Math.round(-2.5) would give -2.
  round: unary((x) => Math.sign(x) * Math.round(Math.abs(x))),
  floor: unary(Math.floor),
  ceil: unary(Math.ceil),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  tan: unary(Math.tan),
  asin: unary(Math.asin),
  acos: unary(Math.acos),
  atan: unary(Math.atan),
  ln: unary(Math.log),
  log: unary(Math.log10),
  log2: unary(Math.log2),
  exp: unary(Math.exp),
  min: { arity: 1, variadic: true, apply: (a: number[]) => Math.min(...a) },
  max: { arity: 1, variadic: true, apply: (a: number[]) => Math.max(...a) },
  pow: { arity: 2, apply: (a: number[]) => a[0]! ** a[1]! },
}))

const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y
const VISIBLE = /^[\p{L}\p{N}\p{P}\p{S}]$/u

type Token =
  | { kind: 'num'; pos: number; text: string; value: number }
  | { kind: 'name' | 'op' | 'end'; pos: number; text: string }
  | { kind: 'bad'; pos: number; text: string; error: ToolError }

/**
 * Ends with an `end` token, or with a `bad` one that the parser throws only when it gets there, so
 * that errors come out left to right: `process.exit()` is an unknown name before a stray dot.
 */
function tokenize(src: string): Token[] {
  const tokens: Token[] = []
  const bad = (pos: number, message: string) => [...tokens, { kind: 'bad', pos, text: '', error: new ToolError(message) } as const]
  let i = 0
  while (i < src.length) {
    const c = src[i]!
    if (/\s/.test(c)) {
      i++
    } else if (/[0-9.]/.test(c)) {
      NUMBER.lastIndex = i
      const m = NUMBER.exec(src)
      // A dot or digit right after a number ("1.2.3", ".", "1e5.5") is a typo, not two numbers.
      if (!m || /[0-9.]/.test(src[i + m[0].length] ?? '')) return bad(i, `malformed number at position ${i}`)
      const value = Number(m[0])
      if (!Number.isFinite(value)) return bad(i, `number too large at position ${i}`)
      tokens.push({ kind: 'num', pos: i, text: m[0], value })
      i += m[0].length
    } else if (/[A-Za-z_]/.test(c)) {
      NAME.lastIndex = i
      const name = NAME.exec(src)![0]
      tokens.push({ kind: 'name', pos: i, text: name })
      i += name.length
    } else if ('+-*/%^(),'.includes(c)) {
      tokens.push({ kind: 'op', pos: i, text: c })
      i++
    } else {
      const char = String.fromCodePoint(src.codePointAt(i)!)
      const hex = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
      const shown = char === "'" ? `"'"` : VISIBLE.test(char) ? `'${char}'` : hex
      return bad(i, `unexpected character ${shown} at position ${i}`)
    }
  }
  tokens.push({ kind: 'end', pos: src.length, text: '' })
  return tokens
}

/** Evaluates an arithmetic expression; throws ToolError for anything it can't answer with a finite number. */
export function evaluate(expression: string): number {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new ToolError(`expression too long: ${expression.length} characters, the limit is ${MAX_EXPRESSION_LENGTH}`)
  }
  const tokens = tokenize(expression)
  if (tokens.length === 1 && tokens[0]!.kind === 'end') throw new ToolError('empty expression')
  let index = 0
  let depth = 0
  const peek = () => {
    const token = tokens[index]!
    if (token.kind === 'bad') throw token.error
    return token
  }
  const next = () => {
    const token = peek()
    index++
    return token
  }
  const isOp = (text: string) => peek().kind === 'op' && peek().text === text

  const unexpected = (token: Token): ToolError => {
    if (token.kind === 'end') return new ToolError(`unexpected end of expression at position ${token.pos}`)
    // An operand where an operator belongs is almost always "2pi", "2(3+4)" or "(a)(b)".
    const implicit = token.kind !== 'op' || token.text === '('
    const hint = implicit ? ' (implicit multiplication is not supported: write * explicitly, e.g. 2*pi)' : ''
    return new ToolError(`unexpected '${token.text}' at position ${token.pos}${hint}`)
  }
  const expect = (text: string) => {
    if (!isOp(text)) throw unexpected(peek())
    next()
  }
  // Every recursion that input can repeat goes through here, so the call stack stays shallow.
  const nested = <T>(pos: number, parse: () => T): T => {
    if (++depth > MAX_NESTING_DEPTH) throw new ToolError(`expression nested too deeply at position ${pos} (limit ${MAX_NESTING_DEPTH})`)
    const result = parse()
    depth--
    return result
  }
  // Infinity and NaN never flow onward: the model gets told where the arithmetic broke.
  const finite = (value: number, pos: number, what: string): number => {
    if (Number.isNaN(value)) throw new ToolError(`${what} at position ${pos} is undefined (not a real number)`)
    if (!Number.isFinite(value)) throw new ToolError(`${what} at position ${pos} is infinite (overflow)`)
    return value
  }

  const parseExpr = (): number => {
    let left = parseTerm()
    while (isOp('+') || isOp('-')) {
      const op = next()
      const right = parseTerm()
      left = finite(op.text === '+' ? left + right : left - right, op.pos, `'${op.text}'`)
    }
    return left
  }
  const parseTerm = (): number => {
    let left = parseUnary()
    while (isOp('*') || isOp('/') || isOp('%')) {
      const op = next()
      const right = parseUnary()
      if (op.text !== '*' && right === 0) {
        throw new ToolError(`${op.text === '/' ? 'division' : 'modulo'} by zero at position ${op.pos}`)
      }
      const value = op.text === '*' ? left * right : op.text === '/' ? left / right : left % right
      left = finite(value, op.pos, `'${op.text}'`)
    }
    return left
  }
  const parseUnary = (): number => {
    if (isOp('-') || isOp('+')) {
      const op = next()
      const operand = nested(op.pos, parseUnary)
      return op.text === '-' ? -operand : operand
    }
    return parsePower()
  }
  const parsePower = (): number => {
    const base = parsePrimary()
    if (!isOp('^')) return base
    const op = next()
    // The exponent is a unary so that 2^-1 parses; recursing into it makes 2^3^2 = 2^(3^2).
    const exponent = nested(op.pos, parseUnary)
    if (base === 0 && exponent < 0) throw new ToolError(`division by zero at position ${op.pos} (0 to a negative power)`)
    return finite(base ** exponent, op.pos, "'^'")
  }
  const parsePrimary = (): number => {
    const token = next()
    if (token.kind === 'num') return token.value
    if (token.kind === 'op' && token.text === '(') {
      const value = nested(token.pos, parseExpr)
      expect(')')
      return value
    }
    if (token.kind !== 'name') throw unexpected(token)
    const constant = CONSTANTS.get(token.text)
    if (constant !== undefined) return constant
    const fn = FUNCTIONS.get(token.text)
    if (fn === undefined) throw new ToolError(`unknown name '${token.text}' at position ${token.pos}`)
    if (!isOp('(')) throw new ToolError(`expected '(' after function '${token.text}' at position ${peek().pos}`)
    next()
    const args = nested(token.pos, () => {
      if (isOp(')')) return []
      const list = [parseExpr()]
      while (isOp(',')) {
        next()
        list.push(parseExpr())
      }
      return list
    })
    expect(')')
    if (args.length < fn.arity || (!fn.variadic && args.length > fn.arity)) {
      const wanted = `${fn.variadic ? 'at least ' : ''}${fn.arity} argument${fn.arity === 1 ? '' : 's'}`
      throw new ToolError(`${token.text}() at position ${token.pos} takes ${wanted}, got ${args.length}`)
    }
    return finite(fn.apply(args), token.pos, `${token.text}(${args.map(formatNumber).join(', ')})`)
  }

  const result = parseExpr()
  if (peek().kind !== 'end') throw unexpected(peek())
  return result
}

/**
 * 12 significant digits hide binary float noise (0.1+0.2) but keep every digit a human would type.
 * Beyond 2^53 doubles are approximate, and toPrecision's exponent form says so (2^64 → 1.84467440737e+19)
 * where plain digits would pass 18446744073710000000 off as exact.
 */
export function formatNumber(value: number): string {
  if (Number.isSafeInteger(value)) return String(value)
  return value.toPrecision(12).replace(/(\.\d*?)0+(?=e|$)/, '$1').replace(/\.(?=e|$)/, '')
}

export const calculatorTool: AgentTool = {
  name: 'calculator',
  description:
    'Evaluates an arithmetic expression and returns the numeric result. Use it for any calculation ' +
    'instead of computing in your head. Syntax: numbers (42, 3.14, .5, 1e-3); + - * /; % (remainder, ' +
    'sign follows the left operand); ^ (power, right-associative, binds tighter than unary minus: ' +
    '-2^2 = -4); parentheses; constants pi, e; functions sqrt, abs, round, floor, ceil, sin, cos, tan, ' +
    'asin, acos, atan (radians), ln, log (base 10), log2, exp, min(a, b, ...), max(a, b, ...), pow(a, b). ' +
    'Always write * for multiplication (2*pi, not 2pi). No variables, units or assignments. ' +
    `At most ${MAX_EXPRESSION_LENGTH} characters.`,
  parameters: {
    type: 'object',
    properties: {
      expression: { type: 'string', description: 'The expression to evaluate, e.g. "15 * 23 + 7" or "sqrt(2) / 2".' },
    },
    required: ['expression'],
    additionalProperties: false,
  },
  source: 'builtin',
  async run(args) {
    const { expression } = args
    if (typeof expression !== 'string') throw new ToolError('expression must be a string')
    return formatNumber(evaluate(expression))
  },
}
