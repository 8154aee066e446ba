// `continue` tokens: opaque to clients, they carry where the previous page stopped. Like the real
// server's (whose etcd compacts history), they expire: after a time window, or all at once on demand.

import { badRequest, expiredContinue } from './status.js';

interface TokenBody {
  v: 'meta.k8s.io/v1';
  /** resourceVersion of the first page, reported by every page of the list. */
  rv: number;
  /** The last key examined. */
  start: string;
  /** Which list the token belongs to (resource and namespace). */
  list: string;
  /** When it was issued (ms, the server's clock). */
  at: number;
  /** Tokens of an older epoch were expired by `expireAll`. */
  epoch: number;
}

export interface ContinuePosition {
  rv: number;
  afterKey: string;
}

export class ContinueTokens {
  private epoch = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  issue(list: string, rv: number, afterKey: string): string {
    const body: TokenBody = { v: 'meta.k8s.io/v1', rv, start: afterKey, list, at: this.now(), epoch: this.epoch };
    return Buffer.from(JSON.stringify(body)).toString('base64url');
  }

  /** Where to resume `list`; throws 400 for a token that is not one of ours, 410 Expired for a stale one. */
  resume(list: string, token: string): ContinuePosition {
    const body = this.decode(token);
    if (body.list !== list) throw badRequest('invalid continue token: continue key is not valid: the token belongs to a different list');
    if (body.epoch < this.epoch || this.now() - body.at > this.ttlMs) {
      throw expiredContinue(this.issue(list, body.rv, body.start));
    }
    return { rv: body.rv, afterKey: body.start };
  }

  /** Makes every token issued so far answer 410 Expired, as after an etcd compaction. */
  expireAll(): void {
    this.epoch++;
  }

  private decode(token: string): TokenBody {
    let parsed: unknown;
    try {
      if (!/^[A-Za-z0-9_-]+={0,2}$/.test(token)) throw new Error('not base64');
      parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      throw badRequest('invalid continue token: continue key is not valid: illegal base64 data or JSON');
    }
    const b = parsed as Partial<TokenBody> | null;
    if (
      !b || b.v !== 'meta.k8s.io/v1' || typeof b.rv !== 'number' || typeof b.start !== 'string' || b.start === '' ||
      typeof b.list !== 'string' || typeof b.at !== 'number' || typeof b.epoch !== 'number'
    ) {
      throw badRequest('invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
    }
    return b as TokenBody;
  }
}
