// The `current_time` built-in tool: a model's sense of "now" is its training cutoff, so anything
// about today, deadlines or "in 3 hours" needs the real clock. Intl only, no date library: the
// platform's tz database is the one the rest of the process already trusts.
import type { AgentTool } from './types.ts'
import { ToolError } from './types.ts'

const DEFAULT_TIME_ZONE = 'UTC'

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat('en-US', {
      timeZone,
      // h23, not hour12: false, which some engines render as 24:00 at midnight.
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'long',
      timeZoneName: 'longOffset',
    })
  } catch {
    throw new ToolError(`invalid time zone ${JSON.stringify(timeZone)}: use an IANA name such as "Europe/Paris" or "UTC"`)
  }
}

/** `now` is injectable so tests can pin the clock. */
export function createCurrentTimeTool(now: () => Date = () => new Date()): AgentTool {
  return {
    name: 'current_time',
    description:
      'Returns the current date and time: ISO 8601 with the UTC offset of the time zone, Unix seconds ' +
      "and the weekday. Call it whenever the answer depends on today's date or the time of day; " +
      'do not assume the date from your training.',
    parameters: {
      type: 'object',
      properties: {
        timezone: { type: 'string', description: `IANA time zone, e.g. "Europe/Paris" or "America/New_York". Default ${DEFAULT_TIME_ZONE}.` },
      },
      additionalProperties: false,
    },
    source: 'builtin',
    async run(args) {
      // null as well as absent: strict-mode function calling sends null for optional parameters.
      const requested = args.timezone ?? DEFAULT_TIME_ZONE
      if (typeof requested !== 'string') throw new ToolError('timezone must be a string')
      const formatter = formatterFor(requested)
      const date = now()
      const parts: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {}
      for (const { type, value } of formatter.formatToParts(date)) parts[type] = value
      // longOffset is "GMT+05:30" (or "GMT+00:09:21" for historical local mean time); some ICU
      // versions write a zero offset as bare "GMT".
      const offset = (parts.timeZoneName ?? '').replace(/^GMT$/, 'GMT+00:00').slice(3)
      const iso = `${parts.year?.padStart(4, '0')}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`
      // ICU canonicalises to old names (Asia/Kolkata → Asia/Calcutta); keep the caller's zone, only
      // fixing its case (europe/paris → Europe/Paris).
      const resolved = formatter.resolvedOptions().timeZone
      const timezone = resolved.toLowerCase() === requested.toLowerCase() ? resolved : requested
      const unix = Math.floor(date.getTime() / 1000)
      return JSON.stringify({ timezone, iso, unix, weekday: parts.weekday })
    },
  }
}

export const currentTimeTool = createCurrentTimeTool()
