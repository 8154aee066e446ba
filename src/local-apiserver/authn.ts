// Authentication as kube-apiserver does it with --token-auth-file: a bearer token names a user
// (and the user's groups), a token nobody holds is 401, and no credentials at all is
// system:anonymous, left to authorization to refuse. Without a token file the server is the admin's
// own, as through `kubectl proxy`: a request without credentials is the admin, because kubectl
// (client-go) sends none over plain HTTP, and this server speaks nothing else.

import { readFileSync } from 'node:fs';
import { ApiError } from './status.js';

export interface Identity {
  name: string;
  groups: readonly string[];
}

/** Members are allowed everything, ahead of any rule (kube-apiserver's privileged group). */
export const MASTERS_GROUP = 'system:masters';
export const AUTHENTICATED_GROUP = 'system:authenticated';
export const UNAUTHENTICATED_GROUP = 'system:unauthenticated';

const ANONYMOUS: Identity = { name: 'system:anonymous', groups: [UNAUTHENTICATED_GROUP] };

/** The one token the server knows when no token file is given; the kubeconfig it writes carries it. */
const BUILT_IN_ADMIN_TOKEN = 'cmstate-local-token';

/** A token file that cannot be read or parsed; the message names the file and the line. */
export class TokenFileError extends Error {
  override name = 'TokenFileError';
}

export class TokenAuthenticator {
  private constructor(
    private readonly users: ReadonlyMap<string, Identity>,
    /** Who a request without credentials is. */
    private readonly anonymous: Identity,
    private readonly source: string,
  ) {}

  /** One admin (group system:masters) holding BUILT_IN_ADMIN_TOKEN, who is also whoever sends no credentials. */
  static builtIn(adminName: string): TokenAuthenticator {
    const admin: Identity = { name: adminName, groups: [MASTERS_GROUP] };
    return new TokenAuthenticator(new Map([[BUILT_IN_ADMIN_TOKEN, admin]]), withAuthenticated(admin), 'the built-in admin');
  }

  /** kube-apiserver's --token-auth-file: CSV lines `token,user,uid[,"group1,group2"]`. Throws TokenFileError. */
  static fromFile(path: string): TokenAuthenticator {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new TokenFileError(`token file ${path}: ${(err as Error).message}`);
    }
    const users = new Map<string, Identity>();
    const lines = new Map<string, number>();
    for (const { line, fields } of parseCsv(text, (at, why) => new TokenFileError(`token file ${path} line ${at}: ${why}`))) {
      const fail = (why: string) => new TokenFileError(`token file ${path} line ${line}: ${why}`);
      if (fields.length < 3) throw fail(`must have at least 3 columns (token, user name, user uid), found ${fields.length}`);
      // The uid (third column) is read but not needed: nothing here answers with it.
      const [token, name, , groups] = fields as [string, string, string, string | undefined];
      // kube-apiserver only warns about these and goes on; with no log to warn in, they stop the start.
      if (token === '') throw fail('empty token');
      const first = lines.get(token);
      if (first !== undefined) throw fail(`duplicate token (first on line ${first})`);
      lines.set(token, line);
      users.set(token, { name, groups: groups === undefined ? [] : groups.split(',') });
    }
    return new TokenAuthenticator(users, ANONYMOUS, `token file ${path}`);
  }

  /** The first token of a system:masters member: what the written kubeconfig authenticates with. */
  get adminToken(): string {
    for (const [token, user] of this.users) if (user.groups.includes(MASTERS_GROUP)) return token;
    throw new TokenFileError(`${this.source} names no member of ${MASTERS_GROUP}, so there is no admin token for a kubeconfig`);
  }

  /**
   * The identity an Authorization header stands for. As kube-apiserver's bearer authenticator: a
   * header that is not `Bearer <token>` is no credential; an unknown token is 401.
   */
  authenticate(authorization: string | undefined): Identity {
    const parts = (authorization ?? '').trim().split(' ');
    const token = parts.length >= 2 && parts[0]?.toLowerCase() === 'bearer' ? (parts[1] as string) : '';
    if (token === '') return this.anonymous;
    const user = this.users.get(token);
    if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    return withAuthenticated(user);
  }
}

/** Every authenticated user is in system:authenticated. */
function withAuthenticated(user: Identity): Identity {
  return user.groups.includes(AUTHENTICATED_GROUP) ? user : { name: user.name, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

interface CsvRecord {
  /** The line the record starts on, from 1. */
  line: number;
  fields: string[];
}

/**
 * Go's encoding/csv as kube-apiserver reads the token file: comma-separated, any number of fields,
 * `"quoted, fields"` with `""` for a quote (spanning lines if need be), empty lines skipped.
 */
function parseCsv(text: string, error: (line: number, why: string) => Error): CsvRecord[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const records: CsvRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const start = i + 1;
    const fields: string[] = [];
    let rest = lines[i] as string;
    for (;;) {
      if (!rest.startsWith('"')) {
        const end = rest.indexOf(',');
        const field = end < 0 ? rest : rest.slice(0, end);
        if (field.includes('"')) throw error(i + 1, 'bare " in non-quoted-field');
        fields.push(field);
        if (end < 0) break;
        rest = rest.slice(end + 1);
        continue;
      }
      let field = '';
      rest = rest.slice(1);
      for (;;) {
        const quote = rest.indexOf('"');
        if (quote < 0) {
          // The quoted field goes on past the end of the line.
          if (i + 1 >= lines.length) throw error(start, 'extraneous or missing " in quoted-field');
          field += `${rest}\n`;
          rest = lines[++i] as string;
          continue;
        }
        field += rest.slice(0, quote);
        rest = rest.slice(quote + 1);
        if (rest.startsWith('"')) {
          field += '"';
          rest = rest.slice(1);
          continue;
        }
        break;
      }
      fields.push(field);
      if (rest === '') break;
      if (!rest.startsWith(',')) throw error(i + 1, 'extraneous or missing " in quoted-field');
      rest = rest.slice(1);
    }
    records.push({ line: start, fields });
  }
  return records;
}
