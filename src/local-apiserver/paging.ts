// `continue` tokens in kube-apiserver's own encoding — base64url of {"v":"meta.k8s.io/v1","rv":N,
// "start":KEY} with KEY the last key returned (relative to the list's prefix) plus "\u0000" — and
// its rules for them: a token names a resourceVersion, and once etcd has compacted that revision the
// token answers 410 Expired. The local server compacts like the real one: every revision older than
// the token window, or all of them at once on demand (expireContinueTokens). A compaction moves the
// revision on, as writes elsewhere in a cluster do, so that lists started after it are not expired.

import { posix } from 'node:path';
import { jsonKind, jsonSyntaxError } from './go-json-syntax.js';
import { badRequest, expiredContinue, type ApiError } from './status.js';

const TOKEN_VERSION = 'meta.k8s.io/v1';

interface TokenBody {
  v: string;
  rv: number;
  start: string;
}

export interface ContinuePosition {
  /** The resourceVersion the list is served at: the first page's. */
  rv: number;
  /** Resume after this store key ("namespace/name"). */
  afterKey: string;
}

/** The store's revision counter, as far as compaction needs it. */
export interface Revisions {
  readonly resourceVersion: number;
  /** Moves the revision on without a change, as a write to another resource would. */
  skipRevision(): void;
}

export class ContinueTokens {
  /** Revisions at or below this one are compacted: their tokens are expired. */
  private compactedRv = 0;
  /** When each list revision was first handed out in a token, oldest first. */
  private readonly issued: { rv: number; at: number }[] = [];

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly revisions: Revisions,
  ) {}

  /** A token to continue a list of `namespace` (undefined: all namespaces) at `rv` after `afterKey`. */
  issue(namespace: string | undefined, rv: number, afterKey: string): string {
    const last = this.issued.at(-1);
    if (rv > 0 && (last === undefined || rv > last.rv)) this.issued.push({ rv, at: this.now() });
    return encode({ v: TOKEN_VERSION, rv, start: `${relativeKey(namespace, afterKey)}\u0000` });
  }

  /** Where to resume; 400 for a token the server cannot read, 410 Expired once its revision is compacted. */
  resume(namespace: string | undefined, token: string): ContinuePosition {
    const body = decode(token);
    const prefix = namespace === undefined ? '' : `${namespace}/`;
    const afterKey = prefix + (body.start.endsWith('\u0000') ? body.start.slice(0, -1) : body.start);
    // A negative rv is the "inconsistent" token of a 410: continue at the latest revision.
    if (body.rv < 0) return { rv: this.revisions.resourceVersion, afterKey };
    this.compact();
    if (body.rv <= this.compactedRv) throw this.expired(token);
    return { rv: body.rv, afterKey };
  }

  /** The 410 for a token whose revision is gone; it carries an "inconsistent" token that goes on at the latest revision. */
  expired(token: string): ApiError {
    return expiredContinue(encode({ v: TOKEN_VERSION, rv: -1, start: decode(token).start }));
  }

  /** Makes every token issued so far answer 410 Expired, as an etcd compaction at the current revision does. */
  expireAll(): void {
    this.compactTo(this.revisions.resourceVersion);
    this.issued.length = 0;
  }

  private compact(): void {
    const horizon = this.now() - this.ttlMs;
    while (this.issued.length > 0 && (this.issued[0] as { at: number }).at < horizon) this.compactTo((this.issued.shift() as { rv: number }).rv);
  }

  private compactTo(rv: number): void {
    this.compactedRv = Math.max(this.compactedRv, rv);
    if (this.revisions.resourceVersion <= this.compactedRv) this.revisions.skipRevision();
  }
}

function relativeKey(namespace: string | undefined, key: string): string {
  return namespace === undefined ? key : key.slice(namespace.length + 1);
}

function encode(body: TokenBody): string {
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

const invalid = (why: string) => badRequest(`invalid continue token: continue key is not valid${why}`);

/** storage.DecodeContinue: strict unpadded base64url, then JSON, then the version's rules. */
function decode(token: string): TokenBody {
  const bad = /[^A-Za-z0-9_-]/.exec(token);
  if (bad) throw invalid(`: illegal base64 data at input byte ${bad.index}`);
  if (token.length % 4 === 1) throw invalid(`: illegal base64 data at input byte ${token.length - 1}`);
  const bytes = Buffer.from(token, 'base64url');
  const syntax = jsonSyntaxError(bytes);
  if (syntax !== undefined) throw invalid(`: ${syntax}`);
  const body = unmarshalToken(JSON.parse(bytes.toString('utf8')) as unknown);
  if (body.v !== TOKEN_VERSION) throw invalid(`: server does not recognize this encoded version ${body.v}`);
  if (body.rv === 0) throw invalid(': incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (body.start === '') throw invalid(': encoded start key empty (version meta.k8s.io/v1)');
  // As the real server does against path traversal: a key that path.Clean would change is refused.
  const key = body.start.startsWith('/') ? body.start : `/${body.start}`;
  if (goPathClean(key) !== key) throw invalid(`: ${body.start}`);
  return body;
}

/** Go's path.Clean for an absolute path: like posix.normalize, but without a trailing slash. */
function goPathClean(path: string): string {
  const normalized = posix.normalize(path);
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
}

const GO_FIELDS: Readonly<Record<keyof TokenBody, 'string' | 'int64'>> = { v: 'string', rv: 'int64', start: 'string' };

/** json.Unmarshal into storage's continueToken struct: absent fields zero, a wrong type Go's error. */
function unmarshalToken(value: unknown): TokenBody {
  // null into a struct is no change, as in Go: every field stays zero.
  if (value !== null && jsonKind(value) !== 'object') throw invalid(`: json: cannot unmarshal ${jsonKind(value)} into Go value of type storage.continueToken`);
  const fields = (value ?? {}) as Record<string, unknown>;
  const body: TokenBody = { v: '', rv: 0, start: '' };
  for (const [name, type] of Object.entries(GO_FIELDS) as [keyof TokenBody, 'string' | 'int64'][]) {
    const v = fields[name];
    if (v === undefined || v === null) continue;
    const fits = type === 'string' ? typeof v === 'string' : typeof v === 'number' && Number.isSafeInteger(v);
    if (!fits) {
      const shown = typeof v === 'number' ? `number ${String(v)}` : jsonKind(v);
      throw invalid(`: json: cannot unmarshal ${shown} into Go struct field continueToken.${name} of type ${type}`);
    }
    (body as unknown as Record<string, unknown>)[name] = v;
  }
  return body;
}
