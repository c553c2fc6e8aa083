// current_time with a pinned clock: the exact text the model reads, in zones with a half-hour
// offset, with daylight saving time on either side of a transition, and across a date line.
import t from 'tap'
import { createCurrentTimeTool, currentTimeTool } from '../../../src/agent/tools/current-time.ts'
import { ToolError } from '../../../src/agent/tools/types.ts'

const signal = new AbortController().signal
const at = (iso: string) => createCurrentTimeTool(() => new Date(iso))
const run = (iso: string, args: Record<string, unknown>) => at(iso).run(args, { signal })
const SUMMER = '2024-07-01T12:34:56.789Z'
const WINTER = '2024-01-15T12:00:00.000Z'

t.test('describes itself as a builtin with an optional timezone', async (t) => {
  t.equal(currentTimeTool.name, 'current_time')
  t.equal(currentTimeTool.source, 'builtin')
  t.match(currentTimeTool.parameters, { type: 'object', properties: { timezone: { type: 'string' } } })
  t.notOk('required' in currentTimeTool.parameters, 'timezone is optional')
})

t.test('exact output for a fixed clock', async (t) => {
  const cases: [string, Record<string, unknown>, object][] = [
    [SUMMER, {}, { timezone: 'UTC', iso: '2024-07-01T12:34:56+00:00', unix: 1719837296, weekday: 'Monday' }],
    [SUMMER, { timezone: null }, { timezone: 'UTC', iso: '2024-07-01T12:34:56+00:00', unix: 1719837296, weekday: 'Monday' }],
    [SUMMER, { timezone: 'UTC' }, { timezone: 'UTC', iso: '2024-07-01T12:34:56+00:00', unix: 1719837296, weekday: 'Monday' }],
    [SUMMER, { timezone: 'Asia/Kolkata' }, { timezone: 'Asia/Kolkata', iso: '2024-07-01T18:04:56+05:30', unix: 1719837296, weekday: 'Monday' }],
    [WINTER, { timezone: 'Asia/Kolkata' }, { timezone: 'Asia/Kolkata', iso: '2024-01-15T17:30:00+05:30', unix: 1705320000, weekday: 'Monday' }],
    // New York: EDT (-04:00) in summer, EST (-05:00) in winter.
    [SUMMER, { timezone: 'America/New_York' }, { timezone: 'America/New_York', iso: '2024-07-01T08:34:56-04:00', unix: 1719837296, weekday: 'Monday' }],
    [WINTER, { timezone: 'America/New_York' }, { timezone: 'America/New_York', iso: '2024-01-15T07:00:00-05:00', unix: 1705320000, weekday: 'Monday' }],
    // The second either side of the 2024 spring-forward: 01:59:59 EST, then 03:00:00 EDT.
    ['2024-03-10T06:59:59Z', { timezone: 'America/New_York' }, { timezone: 'America/New_York', iso: '2024-03-10T01:59:59-05:00', unix: 1710053999, weekday: 'Sunday' }],
    ['2024-03-10T07:00:00Z', { timezone: 'America/New_York' }, { timezone: 'America/New_York', iso: '2024-03-10T03:00:00-04:00', unix: 1710054000, weekday: 'Sunday' }],
    // Still Tuesday in UTC, already Wednesday next year in Kolkata.
    ['2024-12-31T20:00:00Z', { timezone: 'Asia/Kolkata' }, { timezone: 'Asia/Kolkata', iso: '2025-01-01T01:30:00+05:30', unix: 1735675200, weekday: 'Wednesday' }],
    // Seconds are floored, as a clock shows them, before 1970 too.
    ['1969-12-31T23:59:59.500Z', {}, { timezone: 'UTC', iso: '1969-12-31T23:59:59+00:00', unix: -1, weekday: 'Wednesday' }],
    [SUMMER, { timezone: 'europe/paris' }, { timezone: 'Europe/Paris', iso: '2024-07-01T14:34:56+02:00', unix: 1719837296, weekday: 'Monday' }],
  ]
  for (const [now, args, expected] of cases) {
    t.equal(await run(now, args), JSON.stringify(expected), `${now} ${JSON.stringify(args)}`)
  }
})

t.test('the default clock is the real one', async (t) => {
  const { unix, iso } = JSON.parse(await currentTimeTool.run({}, { signal })) as { unix: number; iso: string }
  t.ok(Math.abs(unix - Date.now() / 1000) < 5, 'unix is now')
  t.equal(Date.parse(iso) / 1000, unix, 'iso and unix agree')
})

t.test('bad time zones are ToolErrors naming the zone', async (t) => {
  for (const timezone of ['Nope/Zone', 'Europe/Paris ', '', 'Mars/Olympus_Mons']) {
    await t.rejects(
      run(SUMMER, { timezone }),
      new ToolError(`invalid time zone ${JSON.stringify(timezone)}: use an IANA name such as "Europe/Paris" or "UTC"`),
      JSON.stringify(timezone),
    )
  }
  for (const timezone of [5, true, ['UTC'], { name: 'UTC' }]) {
    await t.rejects(run(SUMMER, { timezone }), new ToolError('timezone must be a string'), JSON.stringify(timezone))
  }
})
