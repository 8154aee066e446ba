// The two time types of the Kubernetes API as the API server reads and writes them: metav1.Time
// (RFC 3339; a fraction is accepted and dropped) and metav1.MicroTime (exactly six fractional
// digits). Reading is Go's time.Parse for their layouts, with its error texts, since those are
// what a client gets back in a 400; writing is in UTC, and a zero time is written as null.

import { jsonKind } from './go-json-syntax.js';

/** A failure worded as Go's decoder words it (the text of the 400 that follows). */
export class GoDecodeError extends Error {
  override name = 'GoDecodeError';
}

type Std = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'fraction' | 'zone';

interface Chunk {
  /** Literal text before the element. */
  prefix: string;
  std: Std;
  /** The element as written in the layout ("2006", ".000000", "Z07:00"). */
  text: string;
}

interface Layout {
  text: string;
  chunks: readonly Chunk[];
  /** Digits of a fixed fraction element; 0 when the layout has none. */
  fractionDigits: number;
}

function layout(text: string, fractionDigits: number): Layout {
  const chunks: Chunk[] = [
    { prefix: '', std: 'year', text: '2006' },
    { prefix: '-', std: 'month', text: '01' },
    { prefix: '-', std: 'day', text: '02' },
    { prefix: 'T', std: 'hour', text: '15' },
    { prefix: ':', std: 'minute', text: '04' },
    { prefix: ':', std: 'second', text: '05' },
  ];
  if (fractionDigits > 0) chunks.push({ prefix: '', std: 'fraction', text: `.${'0'.repeat(fractionDigits)}` });
  chunks.push({ prefix: '', std: 'zone', text: 'Z07:00' });
  return { text, chunks, fractionDigits };
}

const RFC3339 = layout('2006-01-02T15:04:05Z07:00', 0);
const RFC3339_MICRO = layout('2006-01-02T15:04:05.000000Z07:00', 6);

/** An instant: whole seconds since the Unix epoch and nanoseconds within the second. */
interface Instant {
  seconds: number;
  nanos: number;
}

/** Go's zero time.Time, 0001-01-01T00:00:00Z, which both types write as null. */
const ZERO_SECONDS = -62135596800;

/** Go's time.quote: ASCII as is (with " and \ escaped), anything else as \x bytes. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (code >= 0x80 || code < 0x20) {
      for (const byte of Buffer.from(ch, 'utf8')) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    } else {
      out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
    }
  }
  return `${out}"`;
}

function parseError(l: Layout, value: string, layoutElem: string, valueElem: string): GoDecodeError {
  return new GoDecodeError(`parsing time ${quote(value)} as ${quote(l.text)}: cannot parse ${quote(valueElem)} as ${quote(layoutElem)}`);
}

function rangeError(value: string, what: string): GoDecodeError {
  return new GoDecodeError(`parsing time ${quote(value)}: ${what} out of range`);
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

/** Go's getnum: one or two digits (two when fixed). */
function getnum(s: string, fixed: boolean): { n: number; rest: string } | undefined {
  if (!isDigit(s, 0)) return undefined;
  if (!isDigit(s, 1)) return fixed ? undefined : { n: s.charCodeAt(0) - 48, rest: s.slice(1) };
  return { n: (s.charCodeAt(0) - 48) * 10 + (s.charCodeAt(1) - 48), rest: s.slice(2) };
}

/** Go's atoi: an optional sign, then digits only. */
function atoi(s: string): number | undefined {
  const m = /^([-+]?)(\d*)$/.exec(s);
  if (!m) return undefined;
  const n = Number((m[2] as string) || '0');
  return m[1] === '-' ? -n : n;
}

/** Go's parseNanoseconds: value[0] is the separator, value[1:nbytes] the digits (at most nine count). */
function parseNanoseconds(value: string, nbytes: number): { nanos: number } | { range: string } | undefined {
  if (value[0] !== '.' && value[0] !== ',') return undefined;
  const n = Math.min(nbytes, 10);
  const digits = atoi(value.slice(1, n));
  if (digits === undefined) return undefined;
  if (digits < 0) return { range: 'fractional second' };
  return { nanos: digits * 10 ** (10 - n) };
}

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysIn(month: number, year: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** Go's time.Parse for the layouts above, step by step, so that failures carry Go's own words. */
function parse(l: Layout, input: string): Instant {
  let value = input;
  let year = 0;
  let month = -1;
  let day = -1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0;
  let offset = 0;
  for (const chunk of l.chunks) {
    for (let i = 0; i < chunk.prefix.length; i++) {
      if (value[0] !== chunk.prefix[i]) throw parseError(l, input, chunk.prefix, value);
      value = value.slice(1);
    }
    const hold = value;
    let ok = true;
    let range = '';
    switch (chunk.std) {
      case 'year': {
        const n = value.length >= 4 && isDigit(value, 0) ? atoi(value.slice(0, 4)) : undefined;
        if (n === undefined) ok = false;
        else [year, value] = [n, value.slice(4)];
        break;
      }
      case 'month':
      case 'day':
      case 'hour':
      case 'minute': {
        const got = getnum(value, chunk.std !== 'hour');
        if (!got) {
          ok = false;
          break;
        }
        value = got.rest;
        if (chunk.std === 'month') {
          month = got.n;
          if (month <= 0 || month > 12) range = 'month';
        } else if (chunk.std === 'day') {
          // Any two digits here; the day is checked against the month once all is read.
          day = got.n;
        } else if (chunk.std === 'hour') {
          hour = got.n;
          if (hour >= 24) range = 'hour';
        } else {
          minute = got.n;
          if (minute >= 60) range = 'minute';
        }
        break;
      }
      case 'second': {
        const got = getnum(value, true);
        if (!got) {
          ok = false;
          break;
        }
        [second, value] = [got.n, got.rest];
        if (second >= 60) {
          range = 'second';
          break;
        }
        // A layout without a fraction still accepts one of any length after the seconds.
        if (l.fractionDigits === 0 && value.length >= 2 && (value[0] === '.' || value[0] === ',') && isDigit(value, 1)) {
          let n = 2;
          while (n < value.length && isDigit(value, n)) n++;
          const frac = parseNanoseconds(value, n);
          if (!frac) ok = false;
          else if ('range' in frac) range = frac.range;
          else nanos = frac.nanos;
          value = value.slice(n);
        }
        break;
      }
      case 'fraction': {
        const ndigit = 1 + l.fractionDigits;
        const frac = value.length < ndigit ? undefined : parseNanoseconds(value, ndigit);
        if (!frac) ok = false;
        else if ('range' in frac) range = frac.range;
        else nanos = frac.nanos;
        if (value.length >= ndigit) value = value.slice(ndigit);
        break;
      }
      case 'zone': {
        if (value[0] === 'Z') {
          value = value.slice(1);
          break;
        }
        if (value.length < 6 || value[3] !== ':') {
          ok = false;
          break;
        }
        const sign = value[0];
        const hh = getnum(value.slice(1, 3), true);
        const mm = hh && getnum(value.slice(4, 6), true);
        value = value.slice(6);
        if (!hh || !mm) {
          ok = false;
          break;
        }
        // Go compares with > here: offsets of 24 hours or 60 minutes are written by some.
        if (hh.n > 24) range = 'time zone offset hour';
        if (mm.n > 60) range = 'time zone offset minute';
        offset = (hh.n * 60 + mm.n) * 60;
        if (sign === '-') offset = -offset;
        else if (sign !== '+') ok = false;
        break;
      }
    }
    if (range) throw rangeError(input, range);
    if (!ok) throw parseError(l, input, chunk.text, hold);
  }
  if (value !== '') throw new GoDecodeError(`parsing time ${quote(input)}: extra text: ${quote(value)}`);
  if (day < 1 || day > daysIn(month, year)) throw rangeError(input, 'day');
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  return { seconds, nanos };
}

function pad(n: number, width: number): string {
  return n < 0 ? `-${String(-n).padStart(width, '0')}` : String(n).padStart(width, '0');
}

/** RFC 3339 in UTC, to the second or with six fractional digits. */
function format(t: Instant, micro: boolean): string {
  const days = Math.floor(t.seconds / 86400);
  const { year, month, day } = civilFromDays(days);
  const rest = t.seconds - days * 86400;
  const clock = `${pad(Math.floor(rest / 3600), 2)}:${pad(Math.floor(rest / 60) % 60, 2)}:${pad(rest % 60, 2)}`;
  const fraction = micro ? `.${pad(Math.floor(t.nanos / 1000), 6)}` : '';
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${clock}${fraction}Z`;
}

function isZero(t: Instant): boolean {
  return t.seconds === ZERO_SECONDS && t.nanos === 0;
}

function read(value: unknown, l: Layout, micro: boolean): string | null {
  if (value === null || value === undefined) return null;
  // Time.UnmarshalJSON reads the JSON into a string first, with a decoder of its own.
  if (typeof value !== 'string') throw new GoDecodeError(`json: cannot unmarshal ${jsonKind(value)} into Go value of type string`);
  const t = parse(l, value);
  return isZero(t) ? null : format(t, micro);
}

/** A metav1.Time from JSON, as the server writes it back: UTC, to the second; null when zero. Throws GoDecodeError. */
export function readTime(value: unknown): string | null {
  return read(value, RFC3339, false);
}

/** A metav1.MicroTime from JSON, as the server writes it back: UTC, six digits; null when zero. Throws GoDecodeError. */
export function readMicroTime(value: unknown): string | null {
  return read(value, RFC3339_MICRO, true);
}

/**
 * Go's Time.String() of a time as the server writes it (null is the zero time), for validation
 * messages that print a time: "2026-12-01 00:00:00.5 +0000 UTC".
 */
export function goTimeString(written: string | null): string {
  const t = written === null ? { seconds: ZERO_SECONDS, nanos: 0 } : parse(written.includes('.') ? RFC3339_MICRO : RFC3339, written);
  const [date, clock] = format(t, true).slice(0, -1).split('T') as [string, string];
  const [whole, fraction] = clock.split('.') as [string, string];
  const trimmed = fraction.replace(/0+$/, '');
  return `${date} ${whole}${trimmed ? `.${trimmed}` : ''} +0000 UTC`;
}
