// metav1.Time and metav1.MicroTime as the API server reads and writes them: Go's time.Parse with
// its error texts (what a client gets in a 400), UTC on the way out, null for the zero time.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GoDecodeError, goTimeString, readMicroTime, readTime } from '../../../src/local-apiserver/go-time.js';

const MICRO = '"2006-01-02T15:04:05.000000Z07:00"';
const RFC3339 = '"2006-01-02T15:04:05Z07:00"';

function failure(read: (v: unknown) => string | null, value: unknown): string {
  try {
    read(value);
  } catch (err) {
    assert.ok(err instanceof GoDecodeError);
    return err.message;
  }
  throw new Error(`${JSON.stringify(value)} was accepted`);
}

describe('MicroTime', () => {
  const accepted: [string, string | null][] = [
    ['2026-12-01T00:00:00.000000Z', '2026-12-01T00:00:00.000000Z'],
    ['2026-12-01T01:00:00.000000+01:00', '2026-12-01T00:00:00.000000Z'],
    ['2026-12-01T00:00:00.123456-05:30', '2026-12-01T05:30:00.123456Z'],
    ['2026-12-01T00:00:00,123456Z', '2026-12-01T00:00:00.123456Z'],
    ['2024-02-29T23:59:59.999999Z', '2024-02-29T23:59:59.999999Z'],
    ['0001-01-01T00:00:00.000000Z', null],
  ];
  for (const [input, written] of accepted) {
    test(`${input} is written ${written}`, () => assert.equal(readMicroTime(input), written));
  }

  const rejected: [unknown, string][] = [
    ['2026-12-01T00:00:00.000Z', `parsing time "2026-12-01T00:00:00.000Z" as ${MICRO}: cannot parse ".000Z" as ".000000"`],
    ['2026-12-01T00:00:00Z', `parsing time "2026-12-01T00:00:00Z" as ${MICRO}: cannot parse "Z" as ".000000"`],
    ['2026-12-01T00:00:00.000000000Z', `parsing time "2026-12-01T00:00:00.000000000Z" as ${MICRO}: cannot parse "000Z" as "Z07:00"`],
    ['2026-13-01T00:00:00.000000Z', 'parsing time "2026-13-01T00:00:00.000000Z": month out of range'],
    ['2023-02-29T00:00:00.000000Z', 'parsing time "2023-02-29T00:00:00.000000Z": day out of range'],
    ['2026-12-01T24:00:00.000000Z', 'parsing time "2026-12-01T24:00:00.000000Z": hour out of range'],
    ['2026-12-01T00:00:00.000000+25:00', 'parsing time "2026-12-01T00:00:00.000000+25:00": time zone offset hour out of range'],
    ['2026-12-01T00:00:00.000000Zjunk', 'parsing time "2026-12-01T00:00:00.000000Zjunk": extra text: "junk"'],
    ['2026-12-01 00:00:00.000000Z', `parsing time "2026-12-01 00:00:00.000000Z" as ${MICRO}: cannot parse " 00:00:00.000000Z" as "T"`],
    ['', `parsing time "" as ${MICRO}: cannot parse "" as "2006"`],
    ['Ä', `parsing time "\\xc3\\x84" as ${MICRO}: cannot parse "\\xc3\\x84" as "2006"`],
    [1764547200, 'json: cannot unmarshal number into Go value of type string'],
    [{}, 'json: cannot unmarshal object into Go value of type string'],
  ];
  for (const [input, message] of rejected) {
    test(`${JSON.stringify(input)} is refused as Go refuses it`, () => assert.equal(failure(readMicroTime, input), message));
  }

  test('null is the zero time', () => assert.equal(readMicroTime(null), null));
});

describe('Time', () => {
  test('a fraction is accepted and dropped; offsets become UTC', () => {
    assert.equal(readTime('2026-12-01T00:00:00.123Z'), '2026-12-01T00:00:00Z');
    assert.equal(readTime('2026-12-01T00:30:00.999+01:00'), '2026-11-30T23:30:00Z');
    assert.equal(readTime('2026-12-01T00:00:00.000000Z'), '2026-12-01T00:00:00Z');
  });

  test('a one-digit hour passes, as in Go', () => assert.equal(readTime('2026-12-01T7:00:00Z'), '2026-12-01T07:00:00Z'));

  test('errors name the RFC 3339 layout', () => {
    assert.equal(failure(readTime, '2026-12-01'), `parsing time "2026-12-01" as ${RFC3339}: cannot parse "" as "T"`);
    assert.equal(failure(readTime, '2026-12-01T00:00:60Z'), 'parsing time "2026-12-01T00:00:60Z": second out of range');
  });
});

test("goTimeString prints as Go's Time.String() in UTC", () => {
  assert.equal(goTimeString('2026-12-01T00:00:00.500000Z'), '2026-12-01 00:00:00.5 +0000 UTC');
  assert.equal(goTimeString('2026-12-01T00:00:00Z'), '2026-12-01 00:00:00 +0000 UTC');
  assert.equal(goTimeString(null), '0001-01-01 00:00:00 +0000 UTC');
});
