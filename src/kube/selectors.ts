// Label and field selectors in the API server's query syntax, parsed once per request and matched
// per object. Semantics follow k8s.io/apimachinery: `!=` and `notin` also match objects without the key.

import { labelKeyErrors, labelValueErrors } from './names.js';

export type LabelRequirement =
  | { key: string; op: 'exists' | 'doesNotExist' }
  | { key: string; op: 'equals' | 'notEquals'; value: string }
  | { key: string; op: 'in' | 'notIn'; values: ReadonlySet<string> }
  | { key: string; op: 'gt' | 'lt'; value: number };

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

type Token =
  | { t: 'ident'; v: string }
  | { t: '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'in' | 'notin' | 'end' };

const SPECIAL = new Set(['(', ')', ',', '!', '=', '>', '<']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '=' && text[i + 1] === '=') {
      tokens.push({ t: '==' });
      i += 2;
    } else if (c === '!' && text[i + 1] === '=') {
      tokens.push({ t: '!=' });
      i += 2;
    } else if (SPECIAL.has(c)) {
      tokens.push({ t: c as '(' | ')' | ',' | '!' | '=' | '>' | '<' });
      i++;
    } else {
      let j = i;
      while (j < text.length && !SPECIAL.has(text[j] as string) && !/\s/.test(text[j] as string)) j++;
      const word = text.slice(i, j);
      tokens.push(word === 'in' ? { t: 'in' } : word === 'notin' ? { t: 'notin' } : { t: 'ident', v: word });
      i = j;
    }
  }
  tokens.push({ t: 'end' });
  return tokens;
}

class LabelParser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos] as Token;
  }

  private next(): Token {
    return this.tokens[this.pos++] as Token;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    if (this.peek().t === 'end') return reqs;
    for (;;) {
      reqs.push(this.requirement());
      const t = this.next();
      if (t.t === 'end') return reqs;
      if (t.t !== ',') throw new SelectorParseError(`found '${describe(t)}', expected: ',' or 'end of string'`);
    }
  }

  private requirement(): LabelRequirement {
    if (this.peek().t === '!') {
      this.next();
      return { key: this.key(), op: 'doesNotExist' };
    }
    const key = this.key();
    const op = this.peek();
    switch (op.t) {
      case ',':
      case 'end':
        return { key, op: 'exists' };
      case '=':
      case '==':
      case '!=': {
        this.next();
        const value = this.optionalValue();
        return { key, op: op.t === '!=' ? 'notEquals' : 'equals', value };
      }
      case 'in':
      case 'notin': {
        this.next();
        const values = this.valueSet();
        if (values.size === 0) throw new SelectorParseError(`for 'in', 'notin' operators, values set can't be empty`);
        return { key, op: op.t === 'in' ? 'in' : 'notIn', values };
      }
      case '>':
      case '<': {
        this.next();
        const raw = this.optionalValue();
        const value = Number(raw);
        if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value)) {
          throw new SelectorParseError(`for 'Gt', 'Lt' operators, the value must be an integer, got '${raw}'`);
        }
        return { key, op: op.t === '>' ? 'gt' : 'lt', value };
      }
      default:
        throw new SelectorParseError(`found '${describe(op)}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  private key(): string {
    const t = this.next();
    if (t.t !== 'ident') throw new SelectorParseError(`found '${describe(t)}', expected: identifier`);
    const errors = labelKeyErrors(t.v);
    if (errors.length > 0) throw new SelectorParseError(`key: Invalid value: "${t.v}": ${errors.join('; ')}`);
    return t.v;
  }

  private optionalValue(): string {
    const t = this.peek();
    if (t.t === ',' || t.t === 'end' || t.t === ')') return '';
    this.next();
    if (t.t !== 'ident') throw new SelectorParseError(`found '${describe(t)}', expected: identifier`);
    return checkedValue(t.v);
  }

  private valueSet(): Set<string> {
    const open = this.next();
    if (open.t !== '(') throw new SelectorParseError(`found '${describe(open)}', expected: '('`);
    const values = new Set<string>();
    if (this.peek().t === ')') {
      this.next();
      return values;
    }
    for (;;) {
      values.add(this.optionalValue());
      const t = this.next();
      if (t.t === ')') return values;
      if (t.t !== ',') throw new SelectorParseError(`found '${describe(t)}', expected: ',' or ')'`);
    }
  }
}

function describe(t: Token): string {
  return t.t === 'ident' ? t.v : t.t === 'end' ? 'end of string' : t.t;
}

function checkedValue(value: string): string {
  const errors = labelValueErrors(value);
  if (errors.length > 0) throw new SelectorParseError(`values[0]: Invalid value: "${value}": ${errors.join('; ')}`);
  return value;
}

/** Parses `app=x,tier in (a,b),!legacy`; throws SelectorParseError on bad syntax or invalid keys/values. */
export function parseLabelSelector(text: string): LabelSelector {
  try {
    return new LabelParser(tokenize(text)).parse();
  } catch (err) {
    if (err instanceof SelectorParseError) throw new SelectorParseError(`unable to parse requirement: ${err.message}`);
    throw err;
  }
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
        if (value === undefined || !/^-?\d+$/.test(value)) return false;
        const n = Number(value);
        if (req.op === 'gt' ? !(n > req.value) : !(n < req.value)) return false;
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
