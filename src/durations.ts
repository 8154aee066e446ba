// Durations and timestamps as people and the wire format write them: TTLs and grace periods
// (`7d`, `1d12h`, `P7D`) and RFC 3339 instants (`cmstate.io/last-update`, `--now`).
import { DateTime, Duration } from 'luxon';
import { ExitCode } from './exit.js';

const DURATION_HINT = 'use 7d, 12h, 90m or ISO 8601 like P7D';

export class DurationParseError extends Error {
  override name = 'DurationParseError';
  readonly exitCode = ExitCode.usage;
  constructor(
    readonly input: string,
    detail: string = DURATION_HINT,
  ) {
    super(`invalid duration "${input}": ${detail}`);
  }
}

export class TimestampParseError extends Error {
  override name = 'TimestampParseError';
  readonly exitCode = ExitCode.usage;
  constructor(readonly input: string) {
    super(`invalid timestamp "${input}": use RFC 3339 like 2026-11-10T08:00:00Z`);
  }
}

// Short-form units, largest first: a duration must list them in this order, each at most once,
// so `12h1d` or `1d1d` (likely typos) are refused instead of silently summed.
const SHORT_UNITS = [
  ['w', 'weeks'],
  ['d', 'days'],
  ['h', 'hours'],
  ['m', 'minutes'],
  ['s', 'seconds'],
  ['ms', 'milliseconds'],
] as const;

const SHORT_COMPONENT = /(\d+)(ms|w|d|h|m|s)\s*/y;

// Luxon's ISO parser also accepts `P`, `PT`, `P1DT` and negative components; ISO 8601 does not,
// so the shape is checked here first: at least one component, and `T` only before a time part.
const ISO_DURATION = /^P(?!$)(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?(?:T(?=\d)(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$/;

/**
 * Parses a non-negative duration: short form (`7d`, `12h`, `90m`, `30s`, `1w`, `500ms`, combined
 * largest unit first as `1d12h` or `1d 12h`) or ISO 8601 (`P7D`, `PT12H`, `P1DT2H`, `P1M`).
 * Zero is accepted; whether zero makes sense is the caller's decision.
 * @throws DurationParseError with a one-line message naming the input.
 */
export function parseDuration(text: string): Duration {
  const input = text.trim();
  if (input.startsWith('-')) throw new DurationParseError(text, 'negative durations are not allowed');
  const duration = input.startsWith('P') ? parseIsoDuration(text, input) : parseShortDuration(text, input);
  // Bounded so that an instant plus any accepted duration is still a valid DateTime.
  if (duration.as('years') > MAX_YEARS) throw new DurationParseError(text, `longer than ${MAX_YEARS} years`);
  return duration;
}

const MAX_YEARS = 1000;

function parseIsoDuration(text: string, input: string): Duration {
  const iso = ISO_DURATION.test(input) ? Duration.fromISO(input) : undefined;
  if (!iso?.isValid) throw new DurationParseError(text);
  return iso;
}

function parseShortDuration(text: string, input: string): Duration {
  if (input === '') throw new DurationParseError(text);
  const parts: Partial<Record<(typeof SHORT_UNITS)[number][1], number>> = {};
  let nextUnit = 0;
  SHORT_COMPONENT.lastIndex = 0;
  while (SHORT_COMPONENT.lastIndex < input.length) {
    const match = SHORT_COMPONENT.exec(input);
    if (!match) throw new DurationParseError(text);
    const [, digits = '', symbol] = match;
    const unit = SHORT_UNITS.findIndex(([s]) => s === symbol);
    const value = Number(digits);
    if (unit < nextUnit || !Number.isSafeInteger(value)) throw new DurationParseError(text);
    parts[SHORT_UNITS[unit]![1]] = value;
    nextUnit = unit + 1;
  }
  return Duration.fromObject(parts);
}

const MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A short human form: `7d`, `1d 2h`, `1h 30m`, `0s`. Weeks print as days. Calendar parts of an
 * ISO duration (years, months) keep their own units (`1y 2mo`) because their length varies.
 */
export function formatDuration(d: Duration): string {
  const o = d.toObject();
  const parts: string[] = [];
  if (o.years) parts.push(`${o.years}y`);
  const months = (o.quarters ?? 0) * 3 + (o.months ?? 0);
  if (months) parts.push(`${months}mo`);

  // Weeks and smaller have fixed lengths (a day is 24 h, as in UTC): plain arithmetic, which
  // luxon's normalisation made the bulk of the sweeper's reasons' cost.
  const fixedMs = ((o.weeks ?? 0) * 7 + (o.days ?? 0)) * MS.d + (o.hours ?? 0) * MS.h + (o.minutes ?? 0) * MS.m + (o.seconds ?? 0) * MS.s + (o.milliseconds ?? 0);
  let rest = Math.round(fixedMs);
  const sign = rest < 0 ? '-' : '';
  rest = Math.abs(rest);
  for (const [unit, size] of [
    ['d', MS.d],
    ['h', MS.h],
    ['m', MS.m],
    ['s', MS.s],
    ['ms', 1],
  ] as const) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count) parts.push(`${sign}${count}${unit}`);
  }
  return parts.length ? parts.join(' ') : '0s';
}

// RFC 3339 section 5.6: full date, full time, and a mandatory offset. Luxon alone would also take
// dates without a time, times without an offset (read as local time) and hour 24.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/**
 * Parses an RFC 3339 timestamp (`2026-11-10T08:00:00Z`, `2026-11-10T10:00:00.5+02:00`) into
 * epoch milliseconds (digits past the millisecond are dropped). Without luxon: the sweeper reads
 * one or two of these per state, and luxon's parser took most of its planning time.
 * @throws TimestampParseError for anything else, including impossible dates (`2026-02-30`), which
 * Date.parse alone would roll over into the next month.
 */
export function parseInstant(text: string): number {
  if (!RFC3339.test(text) || !isCalendarDate(Number(text.slice(0, 4)), Number(text.slice(5, 7)), Number(text.slice(8, 10)))) throw new TimestampParseError(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new TimestampParseError(text);
  return ms;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return days !== undefined && day >= 1 && day <= days;
}

/** parseInstant as a DateTime in UTC, so every instant cmstate compares or prints is in one zone. */
export function parseTimestamp(text: string): DateTime {
  return DateTime.fromMillis(parseInstant(text), { zone: 'utc' });
}

/**
 * `instantMs` + `duration`, in epoch milliseconds. Durations without calendar parts (weeks and
 * smaller; all of the short form) are a fixed number of milliseconds, added as such; years and
 * months go through luxon's calendar arithmetic in UTC.
 */
export function addDuration(instantMs: number, duration: Duration): number {
  let fixed = FIXED_MS.get(duration);
  if (fixed === undefined) {
    const { years, quarters, months } = duration.toObject();
    fixed = years || quarters || months ? null : duration.as('milliseconds');
    FIXED_MS.set(duration, fixed);
  }
  return fixed === null ? DateTime.fromMillis(instantMs, { zone: 'utc' }).plus(duration).toMillis() : instantMs + fixed;
}

/** Durations are immutable: their length in milliseconds (null: calendar parts) is worked out once. */
const FIXED_MS = new WeakMap<Duration, number | null>();

/** An instant as RFC 3339 UTC, milliseconds only when not zero: `2026-11-10T08:00:00Z`. */
export function formatTimestamp(t: DateTime): string {
  return t.toUTC().toISO({ suppressMilliseconds: true }) ?? 'invalid DateTime';
}
