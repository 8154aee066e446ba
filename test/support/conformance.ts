// Replays the recorded conformance corpus (../shared/conformance/kube-apiserver-v1.32.json: requests
// and a real kube-apiserver's answers) against a server and compares status, Content-Type,
// normalized body and the recorded headers, following the corpus's own `conventions` and
// `normalization` lists. Only the replay lives here; which server, and which identities, the caller says.

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export type Identity = 'user' | 'invalid-token' | 'anonymous';

export interface CorpusRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Json;
  identity?: Identity;
}

export interface CorpusResponse {
  status: number;
  content_type: string;
  body: Json;
  headers?: Record<string, string[]>;
}

export interface CorpusStep {
  request?: CorpusRequest;
  response?: CorpusResponse;
  action?: 'expire-continue-tokens';
  capture?: Record<string, string>;
  poll_s?: number;
  compare?: 'status-only' | 'none';
  note?: string;
}

export interface CorpusCase {
  name: string;
  why: string;
  setup: 'namespace' | 'none';
  requires?: string[];
  steps: CorpusStep[];
}

export interface Corpus {
  format: string;
  cases: CorpusCase[];
}

export const CORPUS_PATH = new URL('../../../shared/conformance/kube-apiserver-v1.32.json', import.meta.url);

export function loadCorpus(): Corpus {
  const corpus = JSON.parse(readFileSync(CORPUS_PATH, 'utf8')) as Corpus;
  if (corpus.format !== 'cmstate-conformance/v1') throw new Error(`unknown conformance corpus format ${corpus.format}`);
  return corpus;
}

/** Where to replay: a base URL, a bearer token per identity, and the one action that is not a request. */
export interface ReplayTarget {
  url: string;
  adminToken: string;
  /** The token of an authenticated user without grants. */
  userToken: string;
  expireContinueTokens(): void;
}

export interface StepResult {
  index: number;
  step: CorpusStep;
  /** Empty when the step matched. */
  differences: string[];
}

interface Answer {
  status: number;
  contentType: string;
  body: Json | { $text: string } | { $empty: true };
  headers: Record<string, string[]>;
}

/** What a case has seen so far: resourceVersions and uids to mask in strings, captured variables. */
class CaseState {
  readonly rvs = new Set<string>();
  readonly uids = new Set<string>();
  readonly vars = new Map<string, string>();
  constructor(readonly namespace: string) {}

  /** `{ns}` and `{var}` placeholders in a request string. */
  fill(text: string): string {
    return text.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => {
      if (name === 'ns') return this.namespace;
      return this.vars.get(name) ?? whole;
    });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Remembers every metadata.resourceVersion and metadata.uid (and a Status's details.uid) of a raw answer. */
function remember(value: Json, state: CaseState, underMetadata = false): void {
  if (Array.isArray(value)) {
    for (const v of value) remember(v, state);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (underMetadata) {
    const rv = value['resourceVersion'];
    if (typeof rv === 'string' && /^\d+$/.test(rv)) state.rvs.add(rv);
    const uid = value['uid'];
    if (typeof uid === 'string' && UUID.test(uid)) state.uids.add(uid);
  }
  if (value['kind'] === 'Status') {
    const uid = (value['details'] as JsonObject | undefined)?.['uid'];
    if (typeof uid === 'string') state.uids.add(uid);
  }
  for (const [k, v] of Object.entries(value)) remember(v, state, k === 'metadata');
}

function normalizeString(text: string, state: CaseState): Json {
  let s = state.namespace ? text.split(state.namespace).join('{ns}') : text;
  for (const uid of state.uids) s = s.split(uid).join('<uid>');
  s = s.replace(/\d+/g, (digits) => (state.rvs.has(digits) ? '<rv>' : digits));
  if (s.length <= 4096) return s;
  const first = s[0] as string;
  if (s === first.repeat(s.length)) return { $bytes: s.length, $fill: first };
  const decoded = /^[A-Za-z0-9+/]+=*$/.test(s) ? Buffer.from(s, 'base64') : undefined;
  if (decoded && decoded.length > 0 && decoded.every((b) => b === decoded[0]) && (decoded[0] as number) < 128) {
    return { $bytes: decoded.length, $fill: String.fromCharCode(decoded[0] as number), $base64: true };
  }
  return { $chars: s.length, $sha256: createHash('sha256').update(s).digest('hex') };
}

const KEPT_GROUPS = new Set(['authorization.k8s.io', 'coordination.k8s.io', 'events.k8s.io']);
const KEPT_RESOURCES = new Set(['configmaps', 'events', 'leases', 'namespaces', 'selfsubjectaccessreviews']);
const KEPT_OPENAPI_PATHS = new Set(['api/v1', 'apis/authorization.k8s.io/v1', 'apis/coordination.k8s.io/v1', 'apis/events.k8s.io/v1']);

function normalizeMetadata(meta: JsonObject): void {
  if (typeof meta['resourceVersion'] === 'string') meta['resourceVersion'] = '<rv>';
  if (typeof meta['uid'] === 'string') meta['uid'] = '<uid>';
  for (const key of ['creationTimestamp', 'deletionTimestamp']) {
    if (meta[key] !== undefined && meta[key] !== null && meta[key] !== '') meta[key] = '<time>';
  }
  if (meta['selfLink'] !== undefined) meta['selfLink'] = '<selfLink>';
  if (meta['continue'] !== undefined) meta['continue'] = '<continue>';
  delete meta['managedFields'];
}

/** The shape-specific rules: discovery trimming, Tables' Age, kube-root-ca.crt, Status uids. */
function normalizeDocument(obj: JsonObject, path: string): void {
  const kind = obj['kind'];
  if (kind === 'Status') {
    const details = obj['details'];
    if (details && typeof details === 'object' && !Array.isArray(details) && typeof details['uid'] === 'string') details['uid'] = '<uid>';
  }
  if (kind === 'APIVersions' && Array.isArray(obj['serverAddressByClientCIDRs'])) {
    for (const entry of obj['serverAddressByClientCIDRs']) {
      if (entry && typeof entry === 'object' && !Array.isArray(entry)) entry['serverAddress'] = '<server-address>';
    }
  }
  if (kind === 'APIGroupList' && Array.isArray(obj['groups'])) {
    obj['groups'] = obj['groups'].filter((g) => KEPT_GROUPS.has(String((g as JsonObject)['name'])));
  }
  if (kind === 'APIResourceList' && Array.isArray(obj['resources'])) {
    obj['resources'] = obj['resources'].filter((r) => KEPT_RESOURCES.has(String((r as JsonObject)['name'])));
  }
  if (path === '/openapi/v3' && obj['paths'] && typeof obj['paths'] === 'object' && !Array.isArray(obj['paths'])) {
    const paths: JsonObject = {};
    for (const [p, v] of Object.entries(obj['paths'])) {
      if (!KEPT_OPENAPI_PATHS.has(p)) continue;
      const entry = v as JsonObject;
      const url = entry['serverRelativeURL'];
      paths[p] = typeof url === 'string' ? { ...entry, serverRelativeURL: url.replace(/hash=[^&]*/, 'hash=<hash>') } : entry;
    }
    obj['paths'] = paths;
  }
  if (kind === 'Table' && Array.isArray(obj['columnDefinitions']) && Array.isArray(obj['rows'])) {
    const age = obj['columnDefinitions'].findIndex((c) => (c as JsonObject)['name'] === 'Age');
    if (age >= 0) {
      for (const row of obj['rows']) {
        const cells = (row as JsonObject)['cells'];
        if (Array.isArray(cells) && age < cells.length) cells[age] = '<age>';
      }
    }
  }
}

function normalizeValue(value: Json, state: CaseState, path: string, key?: string): Json {
  if (typeof value === 'string') return normalizeString(value, state);
  if (Array.isArray(value)) return value.map((v) => normalizeValue(v, state, path));
  if (value === null || typeof value !== 'object') return value;
  if ('$bytes' in value || '$chars' in value || '$text' in value || '$empty' in value || '$omitted' in value) return value;
  const obj: JsonObject = { ...value };
  if (key === 'metadata') normalizeMetadata(obj);
  const meta = obj['metadata'];
  const isRootCa = meta && typeof meta === 'object' && !Array.isArray(meta) && meta['name'] === 'kube-root-ca.crt';
  normalizeDocument(obj, path);
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    const nk = state.namespace ? k.split(state.namespace).join('{ns}') : k;
    out[nk] = normalizeValue(v, state, path, k);
  }
  const data = out['data'];
  if (isRootCa && data && typeof data === 'object' && !Array.isArray(data) && typeof data['ca.crt'] === 'string') data['ca.crt'] = '<ca.crt>';
  return out;
}

/** One normalization for both sides. */
export function normalizeBody(body: Answer['body'], state: CaseState, path: string): Json {
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && '$text' in body && typeof body.$text === 'string') {
    return { $text: normalizeString(body.$text, state) };
  }
  return normalizeValue(body as Json, state, path);
}

export function normalizeContentType(contentType: string): string {
  const [type, ...params] = contentType.toLowerCase().replace(/\s+/g, '').split(';');
  return [type, ...params.filter((p) => p !== '').sort()].join(';');
}

/** Expands `{"$bytes": N, "$fill": C}` (base64 with `"$base64": true`) and fills placeholders. */
function expandBody(body: Json, state: CaseState): Json {
  if (typeof body === 'string') return state.fill(body);
  if (Array.isArray(body)) return body.map((b) => expandBody(b, state));
  if (body === null || typeof body !== 'object') return body;
  if (typeof body['$bytes'] === 'number' && typeof body['$fill'] === 'string') {
    const text = body['$fill'].repeat(body['$bytes']);
    return body['$base64'] === true ? Buffer.from(text, 'latin1').toString('base64') : text;
  }
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(body)) out[state.fill(k)] = expandBody(v, state);
  return out;
}

function requestBody(body: Json | undefined, state: CaseState): string | undefined {
  if (body === undefined) return undefined;
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && typeof body['$text'] === 'string') return state.fill(body['$text']);
  return JSON.stringify(expandBody(body, state));
}

const RECORDED_HEADERS = ['warning', 'retry-after', 'www-authenticate'];

function send(target: ReplayTarget, req: CorpusRequest, state: CaseState): Promise<Answer & { raw: string }> {
  const url = new URL(state.fill(req.path), target.url);
  for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, state.fill(v));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k] = state.fill(v);
  if (req.identity === undefined) headers['Authorization'] = `Bearer ${target.adminToken}`;
  else if (req.identity === 'user') headers['Authorization'] = `Bearer ${target.userToken}`;
  else if (req.identity === 'invalid-token') headers['Authorization'] = `Bearer invalid-${randomBytes(8).toString('hex')}`;
  const body = requestBody(req.body, state);
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const r = httpRequest(url, { method: req.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let parsed: Answer['body'];
        if (raw === '') parsed = { $empty: true };
        else {
          try {
            parsed = JSON.parse(raw) as Json;
          } catch {
            parsed = { $text: raw };
          }
        }
        const recorded: Record<string, string[]> = {};
        for (const name of RECORDED_HEADERS) {
          const values = res.headersDistinct[name];
          if (values) recorded[name] = values;
        }
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body: parsed, headers: recorded, raw });
      });
    });
    r.on('error', reject);
    r.end(body);
  });
}

function readPath(value: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
}

/** Up to `max` differences between two normalized JSON values, as `path: expected …, got …`. */
export function differences(expected: unknown, actual: unknown, path = '$', out: string[] = [], max = 8): string[] {
  if (out.length >= max) return out;
  const show = (v: unknown) => {
    const s = JSON.stringify(v);
    return s === undefined ? 'nothing' : s.length > 300 ? `${s.slice(0, 300)}…` : s;
  };
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) out.push(`${path}: expected ${expected.length} elements, got ${actual.length}: expected ${show(expected)}, got ${show(actual)}`);
    else expected.forEach((e, i) => differences(e, actual[i], `${path}[${i}]`, out, max));
    return out;
  }
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(expected) && isObj(actual)) {
    for (const k of new Set([...Object.keys(expected), ...Object.keys(actual)])) differences(expected[k], actual[k], `${path}.${k}`, out, max);
    return out;
  }
  if (expected !== actual) out.push(`${path}: expected ${show(expected)}, got ${show(actual)}`);
  return out;
}

function compareAnswer(step: CorpusStep, answer: Answer, state: CaseState, path: string): string[] {
  const expected = step.response as CorpusResponse;
  const out: string[] = [];
  if (step.compare === 'none') return out;
  if (answer.status !== expected.status) out.push(`status: expected ${expected.status}, got ${answer.status}`);
  const [ect, act] = [normalizeContentType(expected.content_type), normalizeContentType(answer.contentType)];
  if (ect !== act) out.push(`content-type: expected ${ect}, got ${act}`);
  if (step.compare === 'status-only') return out;
  differences(normalizeBody(expected.body, state, path), normalizeBody(answer.body, state, path), 'body', out);
  const expectedHeaders: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(expected.headers ?? {})) expectedHeaders[k.toLowerCase()] = v;
  const actualHeaders: Record<string, Json> = {};
  for (const [k, v] of Object.entries(answer.headers)) actualHeaders[k] = v.map((h) => normalizeString(h, state));
  differences(expectedHeaders, actualHeaders, 'headers', out);
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Replays one case in `namespace` (which the caller creates for setup "namespace" and deletes afterwards). */
export async function replayCase(target: ReplayTarget, c: CorpusCase, namespace: string): Promise<StepResult[]> {
  const state = new CaseState(namespace);
  const results: StepResult[] = [];
  for (const [index, step] of c.steps.entries()) {
    if (step.action === 'expire-continue-tokens') {
      target.expireContinueTokens();
      results.push({ index, step, differences: [] });
      continue;
    }
    const req = step.request as CorpusRequest;
    const path = state.fill(req.path);
    const deadline = Date.now() + (step.poll_s ?? 0) * 1000;
    let diffs: string[];
    for (;;) {
      const answer = await send(target, req, state);
      if (typeof answer.body === 'object' && answer.body !== null && !('$text' in answer.body) && !('$empty' in answer.body)) {
        remember(answer.body as Json, state);
      }
      diffs = compareAnswer(step, answer, state, path);
      if (diffs.length === 0 || Date.now() >= deadline) {
        for (const [name, dotted] of Object.entries(step.capture ?? {})) {
          const value = readPath(answer.body, dotted);
          if (typeof value === 'string') state.vars.set(name, value);
          else diffs.push(`capture ${name}: no string at ${dotted}`);
        }
        break;
      }
      await sleep(100);
    }
    results.push({ index, step, differences: diffs });
  }
  return results;
}
