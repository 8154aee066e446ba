import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime, Duration } from 'luxon';
import { DurationParseError, TimestampParseError, addDuration, formatDuration, formatTimestamp, parseDuration, parseInstant, parseTimestamp } from '../../src/durations.js';

describe('parseDuration', () => {
  const valid: [input: string, expected: Record<string, number>][] = [
    ['7d', { days: 7 }],
    ['12h', { hours: 12 }],
    ['90m', { minutes: 90 }],
    ['30s', { seconds: 30 }],
    ['1w', { weeks: 1 }],
    ['500ms', { milliseconds: 500 }],
    ['1d12h', { days: 1, hours: 12 }],
    ['1d 12h', { days: 1, hours: 12 }],
    ['1w2d3h4m5s', { weeks: 1, days: 2, hours: 3, minutes: 4, seconds: 5 }],
    ['1m30s', { minutes: 1, seconds: 30 }],
    ['0d', { days: 0 }],
    ['  7d  ', { days: 7 }],
    ['P7D', { days: 7 }],
    ['PT12H', { hours: 12 }],
    ['P1DT2H', { days: 1, hours: 2 }],
    ['P1W', { weeks: 1 }],
    ['PT1.5H', { hours: 1.5 }],
    ['P1M', { months: 1 }],
    ['P30D', { days: 30 }],
    ['PT0S', { seconds: 0 }],
  ];
  for (const [input, expected] of valid) {
    test(`accepts ${JSON.stringify(input)}`, () => {
      assert.deepEqual(parseDuration(input).toObject(), expected);
    });
  }

  const invalid: [input: string, message: string][] = [
    ['7x', 'invalid duration "7x": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['', 'invalid duration "": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['   ', 'invalid duration "   ": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['forever', 'invalid duration "forever": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['7', 'invalid duration "7": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['d', 'invalid duration "d": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['1.5h', 'invalid duration "1.5h": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['7D', 'invalid duration "7D": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['12h1d', 'invalid duration "12h1d": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['1d1d', 'invalid duration "1d1d": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['7d garbage', 'invalid duration "7d garbage": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['-7d', 'invalid duration "-7d": negative durations are not allowed'],
    ['-P1D', 'invalid duration "-P1D": negative durations are not allowed'],
    ['P-1D', 'invalid duration "P-1D": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['P', 'invalid duration "P": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['PT', 'invalid duration "PT": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['P1DT', 'invalid duration "P1DT": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['P1D2H', 'invalid duration "P1D2H": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['p7d', 'invalid duration "p7d": use 7d, 12h, 90m or ISO 8601 like P7D'],
    ['999999d', 'invalid duration "999999d": longer than 1000 years'],
    ['99999999999999999999d', 'invalid duration "99999999999999999999d": use 7d, 12h, 90m or ISO 8601 like P7D'],
  ];
  for (const [input, message] of invalid) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseDuration(input),
        (err: unknown) => err instanceof DurationParseError && err.message === message && err.input === input,
      );
    });
  }
});

describe('formatDuration', () => {
  const cases: [input: Duration, expected: string][] = [
    [Duration.fromObject({ days: 7 }), '7d'],
    [Duration.fromObject({ days: 1, hours: 2 }), '1d 2h'],
    [Duration.fromObject({ weeks: 1 }), '7d'],
    [Duration.fromObject({ hours: 36 }), '1d 12h'],
    [Duration.fromObject({ minutes: 90 }), '1h 30m'],
    [Duration.fromObject({ hours: 1.5 }), '1h 30m'],
    [Duration.fromObject({ seconds: 0 }), '0s'],
    [Duration.fromObject({}), '0s'],
    [Duration.fromObject({ seconds: 1, milliseconds: 500 }), '1s 500ms'],
    [Duration.fromObject({ years: 1, months: 2, days: 3 }), '1y 2mo 3d'],
    [Duration.fromObject({ days: -2 }), '-2d'],
    [parseDuration('P1DT2H'), '1d 2h'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input.toObject())} → ${expected}`, () => {
      assert.equal(formatDuration(input), expected);
    });
  }

  for (const text of ['7d', '1d 2h', '1h 30m', '1d 12h 30m 15s 250ms']) {
    test(`round-trips ${text}`, () => assert.equal(formatDuration(parseDuration(text)), text));
  }
});

describe('parseTimestamp', () => {
  const valid: [input: string, utc: string][] = [
    ['2026-11-10T08:00:00Z', '2026-11-10T08:00:00Z'],
    ['2026-11-10T08:00:00.250Z', '2026-11-10T08:00:00.250Z'],
    ['2026-11-10T10:00:00+02:00', '2026-11-10T08:00:00Z'],
    ['2026-11-10T03:30:00-04:30', '2026-11-10T08:00:00Z'],
    ['2026-11-10t08:00:00z', '2026-11-10T08:00:00Z'],
    ['2026-11-10T08:00:00.123456Z', '2026-11-10T08:00:00.123Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00Z'],
    ['2000-02-29T23:59:59.999Z', '2000-02-29T23:59:59.999Z'],
    ['2026-12-31T23:30:00-01:00', '2027-01-01T00:30:00Z'],
  ];
  for (const [input, utc] of valid) {
    test(`accepts ${input}`, () => {
      const parsed = parseTimestamp(input);
      assert.equal(parsed.zoneName, 'UTC');
      assert.equal(formatTimestamp(parsed), utc);
    });
  }

  const invalid = [
    '',
    'yesterday',
    '2026-11-10',
    '2026-11-10T08:00:00',
    '2026-11-10 08:00:00Z',
    '2026-11-10T08:00Z',
    '2026-02-30T08:00:00Z',
    '2027-02-29T08:00:00Z',
    '1900-02-29T08:00:00Z',
    '2026-04-31T08:00:00Z',
    '2026-00-10T08:00:00Z',
    '2026-11-00T08:00:00Z',
    '2026-13-01T08:00:00Z',
    '2026-11-10T24:00:00Z',
    '2026-11-10T08:00:60Z',
    '2026-11-10T08:00:00+0200',
    '1731225600',
  ];
  for (const input of invalid) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseTimestamp(input),
        (err: unknown) => err instanceof TimestampParseError && err.message === `invalid timestamp "${input}": use RFC 3339 like 2026-11-10T08:00:00Z`,
      );
    });
  }
});

describe('parseInstant', () => {
  test("agrees with luxon's ISO parser on 5,000 random RFC 3339 timestamps, offsets and fractions included", () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const two = (n: number) => String(n).padStart(2, '0');
    for (let i = 0; i < 5000; i++) {
      const date = `${String(1970 + next(130)).padStart(4, '0')}-${two(1 + next(12))}-${two(1 + next(31))}`;
      const time = `${two(next(24))}:${two(next(60))}:${two(next(60))}${['', '.5', '.25', '.123', '.123456789'][next(5)]}`;
      const offset = ['Z', 'z', '+02:00', '-04:30', '+14:00', '-23:59'][next(6)];
      const text = `${date}${next(2) ? 'T' : 't'}${time}${offset}`;
      const luxon = DateTime.fromISO(text, { setZone: true });
      if (!luxon.isValid) {
        assert.throws(() => parseInstant(text), TimestampParseError, text);
        continue;
      }
      assert.equal(parseInstant(text), luxon.toMillis(), text);
    }
  });
});

describe('addDuration', () => {
  const at = parseInstant('2026-01-31T12:00:00Z');
  const cases: [duration: string, expected: string][] = [
    ['7d', '2026-02-07T12:00:00Z'],
    ['1w 1d 2h', '2026-02-08T14:00:00Z'],
    ['PT36H', '2026-02-02T00:00:00Z'],
    ['0s', '2026-01-31T12:00:00Z'],
    // Calendar parts: luxon's month arithmetic (the last day of a shorter month).
    ['P1M', '2026-02-28T12:00:00Z'],
    ['P1Y1M1D', '2027-03-01T12:00:00Z'],
  ];
  for (const [text, expected] of cases) {
    test(`2026-01-31T12:00:00Z + ${text} = ${expected}, as luxon's plus in UTC`, () => {
      const duration = parseDuration(text);
      assert.equal(addDuration(at, duration), parseInstant(expected));
      assert.equal(addDuration(at, duration), DateTime.fromMillis(at, { zone: 'utc' }).plus(duration).toMillis());
      // Worked out once per Duration: the second call must agree with the first.
      assert.equal(addDuration(at, duration), parseInstant(expected));
    });
  }
});
