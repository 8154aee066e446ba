// Label and field selectors in the API server's query syntax, parsed once per request and matched
// per object. Semantics follow k8s.io/apimachinery: `!=` and `notin` also match objects without the key.

import { labelKeyErrors, labelValueErrors } from './names.js';

export type LabelRequirement =
  | { key: string; op: 'exists' | 'doesNotExist' }
  | { key: string; op: 'equals' | 'notEquals'; value: string }
  | { key: string; op: 'in' | 'notIn'; values: ReadonlySet<string> }
  | { key: string; op: 'gt' | 'lt'; value: bigint };

/** Requirements that must all hold (comma = AND). Empty matches everything. */
export type LabelSelector = readonly LabelRequirement[];

export interface FieldRequirement {
  field: string;
  op: 'equals' | 'notEquals';
  value: string;
}

export type FieldSelector = readonly FieldRequirement[];

export class SelectorParseError extends Error {
  override name = 'SelectorParseError';
}

// The lexer and recursive-descent parser of k8s.io/apimachinery/pkg/labels, token for token, so
// that a selector the API server rejects is rejected here with the same words (the embedded API
// server answers with these messages) and one it accepts is accepted.

type TokenKind = 'error' | 'end' | '(' | ')' | ',' | '!' | '==' | '=' | '>' | 'ident' | 'in' | '<' | '!=' | 'notin';

interface Token {
  kind: TokenKind;
  /** The text as written (for an error token, the lexer's message). */
  literal: string;
}

const LITERAL_TOKENS: ReadonlyMap<string, TokenKind> = new Map<string, TokenKind>([
  [')', ')'],
  [',', ','],
  ['!', '!'],
  ['==', '=='],
  ['=', '='],
  ['>', '>'],
  ['in', 'in'],
  ['<', '<'],
  ['!=', '!='],
  ['notin', 'notin'],
  ['(', '('],
]);

const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string) => '=!(),><'.includes(c);

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && isWhitespace(text[pos] as string)) pos++;
    if (pos >= text.length) {
      tokens.push({ kind: 'end', literal: '' });
      return tokens;
    }
    if (isSpecial(text[pos] as string)) {
      // The longest run of special characters that is still an operator ("!=" but not "!(").
      let buffer = '';
      let last: Token | undefined;
      while (pos < text.length && isSpecial(text[pos] as string)) {
        buffer += text[pos];
        const kind = LITERAL_TOKENS.get(buffer);
        if (kind) last = { kind, literal: buffer };
        else if (last) break;
        pos++;
      }
      tokens.push(last ?? { kind: 'error', literal: `error expected: keyword found '${buffer}'` });
    } else {
      const begin = pos;
      while (pos < text.length && !isSpecial(text[pos] as string) && !isWhitespace(text[pos] as string)) pos++;
      const word = text.slice(begin, pos);
      tokens.push({ kind: LITERAL_TOKENS.get(word) ?? 'ident', literal: word });
    }
  }
}

class LabelParser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  /** In a value position `in` and `notin` are plain words, as in `x in (in)`. */
  private lookahead(values: boolean): Token {
    return asValue(this.tokens[this.pos] as Token, values);
  }

  private consume(values: boolean): Token {
    return asValue(this.tokens[this.pos++] as Token, values);
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const t = this.lookahead(true);
      if (t.kind === 'end') return reqs;
      if (t.kind !== 'ident' && t.kind !== '!') throw new SelectorParseError(`found '${t.literal}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (err) {
        if (err instanceof SelectorParseError) throw new SelectorParseError(`unable to parse requirement: ${err.message}`);
        throw err;
      }
      const sep = this.consume(true);
      if (sep.kind === 'end') return reqs;
      if (sep.kind !== ',') throw new SelectorParseError(`found '${sep.literal}', expected: ',' or 'end of string'`);
      const after = this.lookahead(true);
      if (after.kind !== 'ident' && after.kind !== '!') throw new SelectorParseError(`found '${after.literal}', expected: identifier after ','`);
    }
  }

  private requirement(): LabelRequirement {
    let t = this.consume(true);
    const negated = t.kind === '!';
    if (negated) t = this.consume(true);
    if (t.kind !== 'ident') throw new SelectorParseError(`found '${t.literal}', expected: identifier`);
    const key = t.literal;
    const keyErrors = labelKeyErrors(key);
    if (keyErrors.length > 0) throw new SelectorParseError(`Invalid value: ${JSON.stringify(key)}: ${keyErrors.join('; ')}`);
    if (negated) return { key, op: 'doesNotExist' };
    const next = this.lookahead(true).kind;
    if (next === 'end' || next === ',') return { key, op: 'exists' };
    const op = this.consume(false);
    switch (op.kind) {
      case 'in':
      case 'notin': {
        const values = this.valueSet();
        checkValues(key, values);
        return { key, op: op.kind === 'in' ? 'in' : 'notIn', values: new Set(values) };
      }
      case '=':
      case '==':
      case '!=': {
        const value = this.exactValue();
        checkValues(key, [value]);
        return { key, op: op.kind === '!=' ? 'notEquals' : 'equals', value };
      }
      case '>':
      case '<': {
        const value = this.exactValue();
        const errors: string[] = [];
        if (parseInt64(value) === undefined) {
          errors.push(`values[0]: Invalid value: ${JSON.stringify(value)}: for 'Gt', 'Lt' operators, the value must be an integer`);
        }
        errors.push(...valueErrors(key, [value]));
        throwAggregate(errors);
        return { key, op: op.kind === '>' ? 'gt' : 'lt', value: parseInt64(value) as bigint };
      }
      default:
        throw new SelectorParseError(`found '${op.literal}', expected: ${BINARY_OPERATORS}`);
    }
  }

  /** `(a,b,,c)`: a possibly empty list of possibly empty values; `()` is the one empty value. */
  private valueSet(): string[] {
    const open = this.consume(true);
    if (open.kind !== '(') throw new SelectorParseError(`found '${open.literal}' expected: '('`);
    const first = this.lookahead(true);
    if (first.kind === ')') {
      this.consume(true);
      return [''];
    }
    if (first.kind !== 'ident' && first.kind !== ',') throw new SelectorParseError(`found '${first.literal}', expected: ',', ')' or identifier`);
    const values = new Set<string>();
    for (;;) {
      const t = this.consume(true);
      if (t.kind === 'ident') {
        values.add(t.literal);
        const after = this.lookahead(true);
        if (after.kind === ',') continue;
        if (after.kind === ')') break;
        throw new SelectorParseError(`found '${after.literal}', expected: ',' or ')'`);
      } else if (t.kind === ',') {
        if (values.size === 0) values.add('');
        const after = this.lookahead(true).kind;
        if (after === ')' || after === ',') values.add('');
        if (after === ')') break;
      } else {
        throw new SelectorParseError(`found '${t.literal}', expected: ',', or identifier`);
      }
    }
    this.consume(true);
    // The server keeps a set and validates it in sorted order.
    return [...values].sort();
  }

  private exactValue(): string {
    const next = this.lookahead(true);
    if (next.kind === 'end' || next.kind === ',') return '';
    const t = this.consume(true);
    if (t.kind === 'ident') return t.literal;
    throw new SelectorParseError(`found '${t.literal}', expected: identifier`);
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(s, 10, 64), which the server uses for Gt/Lt values and labels. */
function parseInt64(text: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = BigInt(text);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function asValue(t: Token, values: boolean): Token {
  return values && (t.kind === 'in' || t.kind === 'notin') ? { kind: 'ident', literal: t.literal } : t;
}

/** Each value's errors as field errors at `values[i][key]`, the path NewRequirement reports. */
function valueErrors(key: string, values: readonly string[]): string[] {
  return values.flatMap((v, i) => {
    const errors = labelValueErrors(v);
    return errors.length > 0 ? [`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: ${errors.join('; ')}`] : [];
  });
}

function checkValues(key: string, values: readonly string[]): void {
  throwAggregate(valueErrors(key, values));
}

/** An aggregated error list as Go prints it: one error alone, several in brackets. */
function throwAggregate(errors: readonly string[]): void {
  if (errors.length === 1) throw new SelectorParseError(errors[0] as string);
  if (errors.length > 1) throw new SelectorParseError(`[${errors.join(', ')}]`);
}

/** Parses `app=x,tier in (a,b),!legacy`; throws SelectorParseError with the API server's message. */
export function parseLabelSelector(text: string): LabelSelector {
  return new LabelParser(lex(text)).parse();
}

export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  for (const req of selector) {
    const has = labels !== undefined && Object.hasOwn(labels, req.key);
    const value = has ? (labels as Record<string, string>)[req.key] : undefined;
    switch (req.op) {
      case 'exists':
        if (!has) return false;
        break;
      case 'doesNotExist':
        if (has) return false;
        break;
      case 'equals':
        if (value !== req.value) return false;
        break;
      case 'notEquals':
        if (has && value === req.value) return false;
        break;
      case 'in':
        if (value === undefined || !req.values.has(value)) return false;
        break;
      case 'notIn':
        if (value !== undefined && req.values.has(value)) return false;
        break;
      case 'gt':
      case 'lt': {
        const n = value === undefined ? undefined : parseInt64(value);
        if (n === undefined || (req.op === 'gt' ? !(n > req.value) : !(n < req.value))) return false;
        break;
      }
    }
  }
  return true;
}

/** Splits on unescaped `sep`, keeping escapes for the next stage. */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length) {
      current += c + (text[i + 1] as string);
      i++;
    } else if (c === sep) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c === '\\') {
      const n = raw[i + 1];
      if (n !== '\\' && n !== ',' && n !== '=') throw new SelectorParseError(`invalid field selector: invalid escape sequence in "${raw}"`);
      out += n;
      i++;
    } else if (c === ',' || c === '=') {
      throw new SelectorParseError(`invalid field selector: unescaped "${c}" in value "${raw}"`);
    } else {
      out += c;
    }
  }
  return out;
}

/** Parses `metadata.name=x,metadata.namespace!=y` (values may escape `\,` `\=` `\\`). */
export function parseFieldSelector(text: string): FieldSelector {
  if (text.trim() === '') return [];
  return splitUnescaped(text, ',').map((part) => {
    const m = /^([^=!]*?)\s*(!=|==|=)\s*(.*)$/s.exec(part.trim());
    if (!m || (m[1] ?? '') === '') throw new SelectorParseError(`invalid selector: '${text}'; can't understand '${part}'`);
    return {
      field: m[1] as string,
      op: m[2] === '!=' ? 'notEquals' : 'equals',
      value: unescapeFieldValue(m[3] ?? ''),
    };
  });
}

export function matchesFields(selector: FieldSelector, read: (field: string) => string | undefined): boolean {
  for (const req of selector) {
    const value = read(req.field) ?? '';
    if ((value === req.value) !== (req.op === 'equals')) return false;
  }
  return true;
}
