// The calculator runs model-written text, so the tests pin three things: the grammar's exact
// answers, the exact messages the model gets back when it is wrong, and that hostile input of any
// size or shape ends in a ToolError and nothing else. Property tests compare the parser with the
// JS engine itself on random expression trees rendered with random spacing and parentheses.
import t from 'tap'
import fc from 'fast-check'
import { calculatorTool, evaluate, formatNumber, MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH } from '../../../src/agent/tools/calculator.ts'
import { ToolError } from '../../../src/agent/tools/types.ts'

const SEED = 20_240_701
const TREE_RUNS = 3000
const FUZZ_RUNS = 2000

/** The ToolError `fn` throws; fails the test if it returns or throws anything else. */
function toolError(t: { fail: (message: string) => unknown }, fn: () => unknown): ToolError | undefined {
  let result: unknown
  try {
    result = fn()
  } catch (error) {
    if (error instanceof ToolError) return error
    t.fail(`expected a ToolError, got ${String(error)}`)
    return undefined
  }
  t.fail(`expected a ToolError, got ${String(result)}`)
  return undefined
}

t.test('exact results', async (t) => {
  const cases: [string, number][] = [
    ['15 * 23 + 7', 352],
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3], // left-associative
    ['100 / 10 / 5', 2],
    ['2 * 3 % 4', 2], // % shares * and / precedence, left to right
    ['2 + 3 % 4', 5],
    ['2^3^2', 512], // right-associative
    ['(2^3)^2', 64],
    ['-2^2', -4], // ^ binds tighter than unary minus
    ['(-2)^2', 4],
    ['2^-1', 0.5],
    ['2^-2^2', 1 / 16],
    ['-2^-2', -0.25],
    ['2 * -3', -6],
    ['1 - -1', 2],
    ['--1', 1],
    ['+-+1', -1],
    ['-(3 + 4)', -7],
    ['7 % 3', 1],
    ['-7 % 3', -1], // JS %: the sign follows the dividend
    ['7 % -3', 1],
    ['-7 % -3', -1],
    ['7.5 % 2', 1.5],
    ['3', 3],
    ['.5', 0.5],
    ['2.', 2],
    ['1e3', 1000],
    ['2.5E-3', 0.0025],
    ['1e+2', 100],
    ['.5e1', 5],
    ['0.1 + 0.2', 0.1 + 0.2], // evaluate is exact JS arithmetic; only the tool's output is rounded
    ['pi', Math.PI],
    ['e', Math.E],
    ['2 * pi', 2 * Math.PI],
    ['sqrt(16)', 4],
    ['abs(-3)', 3],
    ['round(2.5)', 3],
    ['round(-2.5)', -3], // half away from zero, unlike Math.round
    ['round(2.4)', 2],
    ['floor(-1.5)', -2],
    ['ceil(1.2)', 2],
    ['sin(0)', 0],
    ['cos(0)', 1],
    ['tan(0)', 0],
    ['asin(1)', Math.PI / 2],
    ['acos(1)', 0],
    ['atan(1)', Math.PI / 4],
    ['ln(e)', 1],
    ['log(1000)', 3],
    ['log2(8)', 3],
    ['exp(0)', 1],
    ['min(3, 1, 2)', 1],
    ['max(3, 1, 2)', 3],
    ['min(5)', 5],
    ['pow(2, 10)', 1024],
    ['pow(2, -1)', 0.5],
    ['sqrt(sqrt(16)) + max(1, min(4, 9)) * 2', 10],
    [' \t1 +\n 2 ', 3],
    ['( ( 1 ) )', 1],
    ['sqrt (4)', 2],
  ]
  for (const [expression, expected] of cases) t.equal(evaluate(expression), expected, expression)
})

t.test('every error class names what went wrong and where', async (t) => {
  const cases: [string, string][] = [
    ['', 'empty expression'],
    ['   ', 'empty expression'],
    ['(1 + 2))', "unexpected ')' at position 7"],
    ['1 +', 'unexpected end of expression at position 3'],
    ['(1 + 2', 'unexpected end of expression at position 6'],
    ['*2', "unexpected '*' at position 0"],
    ['1 + * 2', "unexpected '*' at position 4"],
    ['(1, 2)', "unexpected ',' at position 2"],
    ['2pi', "unexpected 'pi' at position 1 (implicit multiplication is not supported: write * explicitly, e.g. 2*pi)"],
    ['2(3)', "unexpected '(' at position 1 (implicit multiplication is not supported: write * explicitly, e.g. 2*pi)"],
    ['(1)(2)', "unexpected '(' at position 3 (implicit multiplication is not supported: write * explicitly, e.g. 2*pi)"],
    ['1 2', "unexpected '2' at position 2 (implicit multiplication is not supported: write * explicitly, e.g. 2*pi)"],
    ['1 # 2', "unexpected character '#' at position 2"],
    ["1 + '", `unexpected character "'" at position 4`],
    ['1\u0000', 'unexpected character U+0000 at position 1'],
    ['1 × 2', "unexpected character '×' at position 2"],
    ['1.2.3', 'malformed number at position 0'],
    ['.', 'malformed number at position 0'],
    ['1 + 1e999', 'number too large at position 4'],
    ['x + 1', "unknown name 'x' at position 0"],
    ['sqrt 4', "expected '(' after function 'sqrt' at position 5"],
    ['sqrt()', 'sqrt() at position 0 takes 1 argument, got 0'],
    ['abs(1, 2)', 'abs() at position 0 takes 1 argument, got 2'],
    ['pow(2)', 'pow() at position 0 takes 2 arguments, got 1'],
    ['max()', 'max() at position 0 takes at least 1 argument, got 0'],
    ['1/0', 'division by zero at position 1'],
    ['1 / (2 - 2)', 'division by zero at position 2'],
    ['5 % 0', 'modulo by zero at position 2'],
    ['0^-1', 'division by zero at position 1 (0 to a negative power)'],
    ['sqrt(-1)', 'sqrt(-1) at position 0 is undefined (not a real number)'],
    ['(-8)^(1/3)', "'^' at position 4 is undefined (not a real number)"],
    ['ln(0)', 'ln(0) at position 0 is infinite (overflow)'],
    ['exp(1000)', 'exp(1000) at position 0 is infinite (overflow)'],
    ['10^400', "'^' at position 2 is infinite (overflow)"],
    ['1e308 * 10', "'*' at position 6 is infinite (overflow)"],
    ['1e308 + 1e308', "'+' at position 6 is infinite (overflow)"],
    ['x'.repeat(MAX_EXPRESSION_LENGTH + 1), 'expression too long: 1001 characters, the limit is 1000'],
  ]
  for (const [expression, message] of cases) {
    t.equal(toolError(t, () => evaluate(expression))?.message, message, JSON.stringify(expression.slice(0, 40)))
  }
})

t.test('hostile input is rejected with a ToolError, quickly', async (t) => {
  const names: [string, string][] = [
    ['constructor', 'constructor'],
    ['__proto__', '__proto__'],
    ['toString()', 'toString'],
    ['hasOwnProperty(1)', 'hasOwnProperty'],
    ['valueOf', 'valueOf'],
    ['process', 'process'],
    ['process.exit()', 'process'],
    ["require('fs')", 'require'],
    ['this', 'this'],
    ['globalThis', 'globalThis'],
    ['Math.PI', 'Math'],
    ['eval(1)', 'eval'],
    ['1 + constructor(1)', 'constructor'],
  ]
  for (const [expression, name] of names) {
    t.match(toolError(t, () => evaluate(expression))?.message, new RegExp(`^unknown name '${name}' at position \\d+$`), expression)
  }

  const tenMegabytes = 10 * 1024 * 1024
  const started = performance.now()
  for (const expression of ['('.repeat(tenMegabytes), '1+'.repeat(tenMegabytes / 2), `${'('.repeat(10_000)}1${')'.repeat(10_000)}`]) {
    t.match(toolError(t, () => evaluate(expression))?.message, /^expression too long/)
  }
  t.ok(performance.now() - started < 1000, 'length is checked before any work')

  const nestedParens = (depth: number) => `${'('.repeat(depth)}1${')'.repeat(depth)}`
  t.equal(evaluate(nestedParens(MAX_NESTING_DEPTH)), 1, `depth ${MAX_NESTING_DEPTH} is allowed`)
  const tooDeep = `expression nested too deeply at position ${MAX_NESTING_DEPTH} (limit ${MAX_NESTING_DEPTH})`
  t.equal(toolError(t, () => evaluate(nestedParens(MAX_NESTING_DEPTH + 1)))?.message, tooDeep)
  // Within the length limit, every shape of recursion hits the depth limit, not the stack's.
  for (const expression of [nestedParens(450), `${'-'.repeat(999)}1`, `${'2^'.repeat(499)}2`, `${'abs('.repeat(199)}1${')'.repeat(199)}`]) {
    t.match(toolError(t, () => evaluate(expression))?.message, /^expression nested too deeply at position \d+/, expression.slice(0, 12))
  }
})

t.test('the tool', async (t) => {
  const signal = new AbortController().signal
  const run = (args: Record<string, unknown>) => calculatorTool.run(args, { signal })
  t.equal(calculatorTool.name, 'calculator')
  t.equal(calculatorTool.source, 'builtin')
  t.match(calculatorTool.parameters, { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] })
  t.match(calculatorTool.description, /implicit|write \*/i)

  t.equal(await run({ expression: '15 * 23 + 7' }), '352')
  t.equal(await run({ expression: '0.1 + 0.2' }), '0.3')
  t.equal(await run({ expression: '1 / 3' }), '0.333333333333')
  t.equal(await run({ expression: '-0' }), '0')
  t.equal(await run({ expression: '2^53 - 1' }), '9007199254740991')
  t.equal(await run({ expression: '2^64' }), '1.84467440737e+19', 'beyond 2^53, exponent form says "approximate"')
  t.equal(await run({ expression: '1 / 3 * 1e-9' }), '3.33333333333e-10')
  t.equal(await run({ expression: '1.5e300' }), '1.5e+300')
  await t.rejects(run({ expression: '1/0' }), new ToolError('division by zero at position 1'))
  for (const expression of [undefined, 42, null, ['1'], { toString: () => '1' }]) {
    await t.rejects(run({ expression }), new ToolError('expression must be a string'), JSON.stringify(expression))
  }
})

t.test('formatNumber keeps 12 significant digits and nothing else', async (t) => {
  const details = fc.check(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
      const text = formatNumber(x)
      const back = Number(text)
      if (Number.isSafeInteger(x)) return back === x
      // Only trailing zeros of the mantissa are stripped, and never a significant digit.
      return Math.abs(back - x) <= 5e-12 * Math.abs(x) && !/\.\d*0(e|$)|\.(e|$)/.test(text)
    }),
    { seed: SEED, numRuns: FUZZ_RUNS },
  )
  t.notOk(details.failed, fc.defaultReportMessage(details) ?? `${details.numRuns} runs`)
})

// --- Property test against the JS engine --------------------------------------------------------

type BinOp = '+' | '-' | '*' | '/' | '%' | '^'
type FnName = 'abs' | 'sqrt' | 'floor' | 'ceil' | 'min' | 'max' | 'pow' | 'exp'
/** Layout chosen by the generator: redundant parentheses around the node and the spaces either side. */
type Layout = { parens: number; before: string; after: string }
type Node = Layout &
  (
    | { k: 'num'; v: number; style: number }
    | { k: 'const'; name: 'pi' | 'e' }
    | { k: 'unary'; sign: '-' | '+'; a: Node }
    | { k: 'bin'; op: BinOp; a: Node; b: Node }
    | { k: 'fn'; name: FnName; args: Node[] }
  )

const FNS: Record<FnName, { arity: [number, number]; apply: (args: number[]) => number }> = {
  abs: { arity: [1, 1], apply: (a) => Math.abs(a[0]!) },
  sqrt: { arity: [1, 1], apply: (a) => Math.sqrt(a[0]!) },
  floor: { arity: [1, 1], apply: (a) => Math.floor(a[0]!) },
  ceil: { arity: [1, 1], apply: (a) => Math.ceil(a[0]!) },
  exp: { arity: [1, 1], apply: (a) => Math.exp(a[0]!) },
  min: { arity: [1, 3], apply: (a) => Math.min(...a) },
  max: { arity: [1, 3], apply: (a) => Math.max(...a) },
  pow: { arity: [2, 2], apply: (a) => a[0]! ** a[1]! },
}

const space = fc.constantFrom('', '', '', ' ', '  ', '\t', '\n')
const layout = { parens: fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, fc.integer({ min: 1, max: 2 })), before: space, after: space }
const number = fc.oneof(
  fc.integer({ min: 0, max: 20 }),
  fc.constantFrom(0.1, 0.2, 0.5, 2.5, 1e-3, 1e3, 1e-7, 1e21),
  fc.double({ min: 0, max: 1e6, noNaN: true }).map(Math.abs),
)
const { node: tree } = fc.letrec<{ node: Node; leaf: Node; unary: Node; bin: Node; fn: Node }>((tie) => ({
  node: fc.oneof({ maxDepth: 5, depthSize: 'small' }, tie('leaf'), tie('unary'), tie('bin'), tie('bin'), tie('fn')),
  leaf: fc.oneof(
    fc.record({ k: fc.constant('num' as const), v: number, style: fc.integer({ min: 0, max: 3 }), ...layout }),
    fc.record({ k: fc.constant('const' as const), name: fc.constantFrom('pi' as const, 'e' as const), ...layout }),
  ),
  unary: fc.record({ k: fc.constant('unary' as const), sign: fc.constantFrom('-' as const, '-' as const, '+' as const), a: tie('node'), ...layout }),
  bin: fc.record({ k: fc.constant('bin' as const), op: fc.constantFrom<BinOp>('+', '-', '*', '/', '%', '^'), a: tie('node'), b: tie('node'), ...layout }),
  fn: fc
    .record({ name: fc.constantFrom(...(Object.keys(FNS) as FnName[])), args: fc.array(tie('node'), { minLength: 3, maxLength: 3 }), ...layout })
    .map(({ name, args, ...rest }) => ({ k: 'fn' as const, name, args: args.slice(0, FNS[name].arity[1]), ...rest })),
}))

/** The same number written the ways a person might: 2 / 2. / 2e+0 / .5 / 5E-1. */
function renderNumber(v: number, style: number): string {
  if (style === 1 && Number.isInteger(v) && v < 1e21) return `${v}.`
  if (style === 2) return v.toExponential()
  if (style === 3) return String(v).replace(/^0\./, '.').toUpperCase()
  return String(v)
}
/** Binding strength as the grammar sees it: 1 + -, 2 * / %, 3 unary sign, 4 ^, 5 atoms. */
const strength = (n: Node): number =>
  n.parens > 0 || n.k === 'num' || n.k === 'const' || n.k === 'fn' ? 5 : n.k === 'unary' ? 3 : n.op === '^' ? 4 : '+-'.includes(n.op) ? 1 : 2

function render(n: Node): string {
  const wrap = (child: Node, needed: boolean) => (needed ? `(${render(child)})` : render(child))
  let text: string
  if (n.k === 'num') text = renderNumber(n.v, n.style)
  else if (n.k === 'const') text = n.name
  else if (n.k === 'unary') text = `${n.sign}${wrap(n.a, strength(n.a) < 3)}`
  else if (n.k === 'fn') text = `${n.name}(${n.args.map(render).join(',')})`
  else if (n.op === '^') text = `${wrap(n.a, strength(n.a) < 5)}^${wrap(n.b, strength(n.b) < 3)}`
  else {
    const own = strength({ ...n, parens: 0 })
    text = `${wrap(n.a, strength(n.a) < own)}${n.op}${wrap(n.b, strength(n.b) <= own)}`
  }
  for (let i = 0; i < n.parens; i++) text = `(${n.before}${text}${n.after})`
  return `${n.before}${text}${n.after}`
}

/** Plain JS on the tree; `undefined` when any step leaves the finite numbers, which the calculator must reject. */
function reference(n: Node): number | undefined {
  const values = (nodes: Node[]) => {
    const out = nodes.map(reference)
    return out.every((v) => v !== undefined) ? (out as number[]) : undefined
  }
  let value: number
  if (n.k === 'num') value = n.v
  else if (n.k === 'const') value = n.name === 'pi' ? Math.PI : Math.E
  else if (n.k === 'unary') {
    const a = reference(n.a)
    if (a === undefined) return undefined
    value = n.sign === '-' ? -a : a
  } else if (n.k === 'fn') {
    const args = values(n.args)
    if (args === undefined || args.length < FNS[n.name].arity[0]) return undefined
    value = FNS[n.name].apply(args)
  } else {
    const ab = values([n.a, n.b])
    if (ab === undefined) return undefined
    const [a, b] = ab as [number, number]
    const ops: Record<BinOp, () => number> = { '+': () => a + b, '-': () => a - b, '*': () => a * b, '/': () => a / b, '%': () => a % b, '^': () => a ** b }
    value = ops[n.op]()
  }
  return Number.isFinite(value) ? value : undefined
}

const same = (actual: number, expected: number) =>
  Object.is(actual, expected) || (!Number.isInteger(expected) && Math.abs(actual - expected) <= 1e-9 * Math.abs(expected))

t.test('random expression trees evaluate as JS evaluates them', async (t) => {
  const outcomes = { value: 0, error: 0, tooLong: 0 }
  const details = fc.check(
    // The text comes first so that a counterexample reads as an expression.
    fc.property(tree.map((n) => ({ text: render(n), n })), ({ text, n }) => {
      const expected = text.length > MAX_EXPRESSION_LENGTH ? 'too long' : reference(n)
      let actual: number | ToolError
      try {
        actual = evaluate(text)
      } catch (error) {
        if (!(error instanceof ToolError)) throw error
        actual = error
      }
      if (expected === 'too long') {
        outcomes.tooLong++
        return actual instanceof ToolError && actual.message.startsWith('expression too long')
      }
      if (expected === undefined) {
        outcomes.error++
        return actual instanceof ToolError
      }
      outcomes.value++
      return typeof actual === 'number' && same(actual, expected)
    }),
    { seed: SEED, numRuns: TREE_RUNS },
  )
  t.notOk(details.failed, fc.defaultReportMessage(details) ?? '')
  t.equal(details.numRuns, TREE_RUNS)
  t.comment(`${details.numRuns} trees, seed ${SEED}: ${outcomes.value} values, ${outcomes.error} rejected (non-finite step), ${outcomes.tooLong} too long`)
  t.ok(outcomes.value > TREE_RUNS / 2, 'most trees have a finite value, so the comparison is not vacuous')
})

t.test('arbitrary text yields a finite number or a ToolError naming a position', async (t) => {
  const alphabet = fc.constantFrom(...'0123456789.eE+-*/%^(), \t'.split(''), 'pi', 'sqrt', 'min', 'pow', 'x', '__proto__', '#')
  const inputs = fc.oneof(fc.string({ unit: alphabet, maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }))
  const details = fc.check(
    fc.property(inputs, (text) => {
      try {
        return Number.isFinite(evaluate(text))
      } catch (error) {
        return error instanceof ToolError && /position \d+|^empty expression$/.test(error.message)
      }
    }),
    { seed: SEED, numRuns: FUZZ_RUNS },
  )
  t.notOk(details.failed, fc.defaultReportMessage(details) ?? '')
  t.equal(details.numRuns, FUZZ_RUNS)
})
