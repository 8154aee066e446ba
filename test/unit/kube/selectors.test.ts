import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SelectorParseError, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../../../src/kube/selectors.js';

const labels = {
  none: undefined,
  web: { app: 'web', tier: 'frontend', version: '3' },
  db: { app: 'db', tier: 'backend', legacy: '' },
  prefixed: { 'example.com/team': 'a', app: 'web' },
} as const;

describe('parseLabelSelector + matchesLabels', () => {
  const cases: { selector: string; matches: (keyof typeof labels)[] }[] = [
    { selector: '', matches: ['none', 'web', 'db', 'prefixed'] },
    { selector: 'app=web', matches: ['web', 'prefixed'] },
    { selector: 'app==web', matches: ['web', 'prefixed'] },
    { selector: 'app = web', matches: ['web', 'prefixed'] },
    { selector: 'app!=web', matches: ['none', 'db'] },
    { selector: 'app', matches: ['web', 'db', 'prefixed'] },
    { selector: '!app', matches: ['none'] },
    { selector: '!tier', matches: ['none', 'prefixed'] },
    { selector: 'legacy=', matches: ['db'] },
    { selector: 'legacy', matches: ['db'] },
    { selector: 'legacy==', matches: ['db'] },
    { selector: 'legacy!=', matches: ['none', 'web', 'prefixed'] },
    { selector: 'app in (web,db)', matches: ['web', 'db', 'prefixed'] },
    { selector: 'app in (db)', matches: ['db'] },
    { selector: 'app in ( db , web )', matches: ['web', 'db', 'prefixed'] },
    { selector: 'app notin (web)', matches: ['none', 'db'] },
    { selector: 'tier notin (frontend,backend)', matches: ['none', 'prefixed'] },
    { selector: 'app=web,tier=frontend', matches: ['web'] },
    { selector: 'app=web,!tier', matches: ['prefixed'] },
    { selector: 'app in (web),tier notin (backend),version', matches: ['web'] },
    { selector: 'example.com/team=a', matches: ['prefixed'] },
    { selector: 'example.com/team', matches: ['prefixed'] },
    { selector: 'version>2', matches: ['web'] },
    { selector: 'version<3', matches: [] },
    { selector: 'app=nothing', matches: [] },
    // As in apimachinery: an empty set is the one empty value, and `in`/`notin` are words as values.
    { selector: 'legacy in ()', matches: ['db'] },
    { selector: 'app notin (in)', matches: ['none', 'web', 'db', 'prefixed'] },
    // Gt/Lt compare as Go's int64, beyond JavaScript's safe integers.
    { selector: 'version>9007199254740993', matches: [] },
    { selector: 'version<9223372036854775807', matches: ['web'] },
  ];
  for (const { selector, matches } of cases) {
    test(`"${selector}" matches ${matches.join(', ') || 'nothing'}`, () => {
      const parsed = parseLabelSelector(selector);
      const actual = (Object.keys(labels) as (keyof typeof labels)[]).filter((k) => matchesLabels(parsed, labels[k]));
      assert.deepEqual(actual, matches);
    });
  }

  const invalid = ['app=web,', ',app', 'app in web', 'app in (web', '=web', 'app=-bad-', 'Bad Key=x', 'a/b/c=x', `app=${'v'.repeat(64)}`, 'version>x', '!'];
  for (const selector of invalid) {
    test(`"${selector}" is rejected`, () => {
      assert.throws(() => parseLabelSelector(selector), SelectorParseError);
    });
  }

  // The API server's own words (k8s.io/apimachinery/pkg/labels), which the embedded server answers with.
  const VALUE_RULE =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  const messages: [string, string][] = [
    ['app in (', "unable to parse requirement: found '', expected: ',', ')' or identifier"],
    ['Bad Key=x', "unable to parse requirement: found 'Key', expected: in, notin, =, ==, !=, gt, lt"],
    ['app in web', "unable to parse requirement: found 'web' expected: '('"],
    ['app=web,', "found '', expected: identifier after ','"],
    [',app', "found ',', expected: !, identifier, or 'end of string'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    [
      'app=-x-',
      "unable to parse requirement: values[0][app]: Invalid value: \"-x-\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ],
    ['version>x', "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer"],
    ['version>9223372036854775808', "unable to parse requirement: values[0]: Invalid value: \"9223372036854775808\": for 'Gt', 'Lt' operators, the value must be an integer"],
    ['app in (-a-,-b-)', `unable to parse requirement: [values[0][app]: Invalid value: "-a-": ${VALUE_RULE}, values[1][app]: Invalid value: "-b-": ${VALUE_RULE}]`],
  ];
  for (const [selector, message] of messages) {
    test(`"${selector}": ${message}`, () => {
      assert.throws(() => parseLabelSelector(selector), { name: 'SelectorParseError', message });
    });
  }

  test('parse result is structured', () => {
    assert.deepEqual(parseLabelSelector('a in (x,y),!b,c!=d'), [
      { key: 'a', op: 'in', values: new Set(['x', 'y']) },
      { key: 'b', op: 'doesNotExist' },
      { key: 'c', op: 'notEquals', value: 'd' },
    ]);
  });
});

describe('parseFieldSelector + matchesFields', () => {
  const objects = {
    a: { 'metadata.name': 'a', 'metadata.namespace': 'ns1' },
    b: { 'metadata.name': 'b', 'metadata.namespace': 'ns1' },
    c: { 'metadata.name': 'c', 'metadata.namespace': 'ns2' },
    comma: { 'metadata.name': 'x,y', 'metadata.namespace': 'ns2' },
  } as const;
  const cases: { selector: string; matches: (keyof typeof objects)[] }[] = [
    { selector: '', matches: ['a', 'b', 'c', 'comma'] },
    { selector: 'metadata.name=a', matches: ['a'] },
    { selector: 'metadata.name==a', matches: ['a'] },
    { selector: 'metadata.name!=a', matches: ['b', 'c', 'comma'] },
    { selector: 'metadata.namespace=ns1', matches: ['a', 'b'] },
    { selector: 'metadata.namespace=ns1,metadata.name!=a', matches: ['b'] },
    { selector: 'metadata.name=x\\,y', matches: ['comma'] },
    { selector: 'metadata.namespace=', matches: [] },
  ];
  for (const { selector, matches } of cases) {
    test(`"${selector}" matches ${matches.join(', ') || 'nothing'}`, () => {
      const parsed = parseFieldSelector(selector);
      const actual = (Object.keys(objects) as (keyof typeof objects)[]).filter((k) => matchesFields(parsed, (f) => (objects[k] as Record<string, string>)[f]));
      assert.deepEqual(actual, matches);
    });
  }

  for (const selector of ['metadata.name', '=a', 'metadata.name=a,b', 'metadata.name=a\\x']) {
    test(`"${selector}" is rejected`, () => {
      assert.throws(() => parseFieldSelector(selector), SelectorParseError);
    });
  }

  test('parse result is structured', () => {
    assert.deepEqual(parseFieldSelector('metadata.name!=a,metadata.namespace=b'), [
      { field: 'metadata.name', op: 'notEquals', value: 'a' },
      { field: 'metadata.namespace', op: 'equals', value: 'b' },
    ]);
  });
});
