import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { decodeState } from '../../../src/state/decode.js';
import { encodeState } from '../../../src/state/encode.js';
import { FEEDBACK_SEVERITIES, ISSUE_TYPES, TASK_STATUSES, jsonSchema, taskIdSchema } from '../../../src/state/schema.js';
import { entry, makeState } from './fixtures.js';

// ajv-formats is CommonJS; under nodenext its default export is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

interface ObjectSchema {
  type: string;
  properties: Record<string, { enum?: string[]; $ref?: string; description?: string; type?: string; format?: string }>;
  required: string[];
  additionalProperties: boolean;
  description?: string;
}

const schema = jsonSchema() as { $schema: string; $ref: string; $defs: Record<string, ObjectSchema & { enum?: string[] }> };
const defs = schema.$defs;

describe('jsonSchema()', () => {
  test('is draft 2020-12 with TaskState at the root', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.$ref, '#/$defs/TaskState');
    assert.deepEqual(Object.keys(defs).sort(), ['FeedbackEntry', 'IterationHistoryEntry', 'StatusHistoryEntry', 'TaskState', 'TaskStatus']);
  });

  test('TaskState has every wire field, all required, no others', () => {
    const fields = [
      'version',
      'task_id',
      'iteration',
      'max_iterations',
      'status',
      'last_update',
      'iteration_history',
      'status_history',
      'error_messages',
      'metadata',
      'feedback_history',
      'feedback_archived',
    ];
    assert.deepEqual(Object.keys(defs.TaskState?.properties ?? {}), fields);
    assert.deepEqual(defs.TaskState?.required, fields);
    assert.equal(defs.TaskState?.additionalProperties, false);
    assert.equal(defs.TaskState?.properties.status?.$ref, '#/$defs/TaskStatus');
    assert.equal(defs.TaskState?.properties.last_update?.format, 'date-time');
    for (const [name, property] of Object.entries(defs.TaskState?.properties ?? {})) {
      assert.ok(property.description || property.$ref, `${name} is documented`);
    }
  });

  test("enums are the format's", () => {
    assert.deepEqual(defs.TaskStatus?.enum, [...TASK_STATUSES]);
    assert.deepEqual(defs.FeedbackEntry?.properties.severity?.enum, [...FEEDBACK_SEVERITIES]);
    assert.deepEqual(defs.FeedbackEntry?.properties.issue_type?.enum, [...ISSUE_TYPES]);
    assert.deepEqual(Object.keys(defs.FeedbackEntry?.properties ?? {}), ['id', 'timestamp', 'iteration', 'author', 'severity', 'issue_type', 'description', 'resolved']);
    assert.deepEqual(Object.keys(defs.IterationHistoryEntry?.properties ?? {}), ['iteration', 'started_at', 'recovered']);
    assert.deepEqual(defs.IterationHistoryEntry?.required, ['iteration', 'started_at']);
    assert.deepEqual(Object.keys(defs.StatusHistoryEntry?.properties ?? {}), ['from', 'to', 'at', 'reason']);
  });

  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
  const validate = ajv.compile(schema);

  test('a decoded state validates; other languages can check their output with it', () => {
    const state = decodeState(encodeState(makeState({ feedback_history: [entry(1, { description: 'ünïcode' })], metadata: { k: 'v' } }), { namespace: 'ns' }).configMap);
    assert.equal(validate(state), true, JSON.stringify(validate.errors));
  });

  const invalid = [
    { name: 'unknown status', state: { ...makeState(), status: 'done' } },
    { name: 'offset timestamp', state: { ...makeState(), last_update: '2025-03-01T12:00:00+01:00' } },
    { name: 'extra field', state: { ...makeState(), extra: 1 } },
    { name: 'missing field', state: { ...makeState(), feedback_archived: undefined } },
    { name: 'bad severity', state: makeState({ feedback_history: [{ ...entry(1), severity: 'huge' as never }] }) },
    { name: 'bad task id', state: makeState({ task_id: 'UPPER' }) },
    { name: 'fractional iteration', state: makeState({ iteration: 1.5 }) },
  ];
  for (const c of invalid) {
    test(`rejects ${c.name}`, () => {
      assert.equal(validate(JSON.parse(JSON.stringify(c.state))), false);
    });
  }
});

describe('taskIdSchema', () => {
  const cases: [string, boolean][] = [
    ['a', true],
    ['fix-42', true],
    ['0', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['', false],
    ['-a', false],
    ['a-', false],
    ['A', false],
    ['a_b', false],
  ];
  for (const [id, ok] of cases) test(`${JSON.stringify(id)} is ${ok ? 'valid' : 'invalid'}`, () => assert.equal(taskIdSchema.safeParse(id).success, ok));
});
