// JSON syntax as kube-apiserver checks it with Go's encoding/json: a port of encoding/json's
// scanner state machine, so a malformed body gets the words a real server answers
// ("invalid character 'n' looking for beginning of object key string"), not JavaScript's.

/** Go's limit on nesting, past which the scanner reports "exceeded max depth". */
const MAX_NESTING_DEPTH = 10000;

const enum S {
  BeginValue,
  BeginValueOrEmpty,
  BeginStringOrEmpty,
  BeginString,
  EndValue,
  EndTop,
  InString,
  InStringEsc,
  InStringEscU,
  InStringEscU1,
  InStringEscU12,
  InStringEscU123,
  Neg,
  One,
  Zero,
  Dot,
  Dot0,
  E,
  ESign,
  E0,
  LiteralTail,
  Error,
}

const enum P {
  ObjectKey,
  ObjectValue,
  ArrayValue,
}

const LITERALS: Readonly<Record<string, string>> = { t: 'true', f: 'false', n: 'null' };

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Go's quoteChar: a byte as a quoted character literal, as strconv.Quote would show the rune. */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  const q = goQuote(String.fromCharCode(c));
  return `'${q.slice(1, -1)}'`;
}

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
  0x5c: '\\\\',
  0x22: '\\"',
};

/** Whether Go's strconv.IsPrint holds for a code point: graphic characters and the ASCII space. */
export function isPrint(cp: number): boolean {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp === 0xad) return false;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  if (cp === 0x2028 || cp === 0x2029 || cp === 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb)) return false;
  return !/^[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]$/u.test(String.fromCodePoint(cp)) || cp === 0x20;
}

/** Go's strconv.Quote: a double-quoted string with Go escapes for what is not printable. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    const short = SHORT_ESCAPES[cp];
    if (short !== undefined) out += short;
    else if (isPrint(cp)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/**
 * The error Go's json.Unmarshal reports for malformed input (its checkValid pass), or undefined
 * when the input is one well-formed JSON value. A port of encoding/json/scanner.go.
 */
export function jsonSyntaxError(buf: Uint8Array): string | undefined {
  let state = S.BeginValue as S;
  const stack: P[] = [];
  let literal = '';
  let literalPos = 0;
  let endTop = false;
  let err: string | undefined;

  const fail = (c: number, context: string): void => {
    state = S.Error;
    err = `invalid character ${quoteChar(c)} ${context}`;
  };
  const push = (c: number, p: P, next: S): void => {
    stack.push(p);
    if (stack.length > MAX_NESTING_DEPTH) fail(c, 'exceeded max depth');
    else state = next;
  };
  const pop = (): void => {
    stack.pop();
    if (stack.length === 0) {
      state = S.EndTop;
      endTop = true;
    } else {
      state = S.EndValue;
    }
  };

  const beginValue = (c: number): void => {
    if (isSpace(c)) return;
    switch (c) {
      case 0x7b: // {
        push(c, P.ObjectKey, S.BeginStringOrEmpty);
        return;
      case 0x5b: // [
        push(c, P.ArrayValue, S.BeginValueOrEmpty);
        return;
      case 0x22:
        state = S.InString;
        return;
      case 0x2d: // -
        state = S.Neg;
        return;
      case 0x30:
        state = S.Zero;
        return;
      case 0x74: // t
      case 0x66: // f
      case 0x6e: // n
        literal = LITERALS[String.fromCharCode(c)] as string;
        literalPos = 1;
        state = S.LiteralTail;
        return;
    }
    if (c >= 0x31 && c <= 0x39) {
      state = S.One;
      return;
    }
    fail(c, 'looking for beginning of value');
  };

  const endValue = (c: number): void => {
    const n = stack.length;
    if (n === 0) {
      state = S.EndTop;
      endTop = true;
      endTopStep(c);
      return;
    }
    if (isSpace(c)) {
      state = S.EndValue;
      return;
    }
    switch (stack[n - 1]) {
      case P.ObjectKey:
        if (c === 0x3a) {
          stack[n - 1] = P.ObjectValue;
          state = S.BeginValue;
          return;
        }
        fail(c, 'after object key');
        return;
      case P.ObjectValue:
        if (c === 0x2c) {
          stack[n - 1] = P.ObjectKey;
          state = S.BeginString;
          return;
        }
        if (c === 0x7d) {
          pop();
          return;
        }
        fail(c, 'after object key:value pair');
        return;
      case P.ArrayValue:
        if (c === 0x2c) {
          state = S.BeginValue;
          return;
        }
        if (c === 0x5d) {
          pop();
          return;
        }
        fail(c, 'after array element');
        return;
    }
  };

  const endTopStep = (c: number): void => {
    if (!isSpace(c)) fail(c, 'after top-level value');
  };

  const step = (c: number): void => {
    switch (state) {
      case S.BeginValue:
        beginValue(c);
        return;
      case S.BeginValueOrEmpty:
        if (isSpace(c)) return;
        if (c === 0x5d) endValue(c);
        else beginValue(c);
        return;
      case S.BeginStringOrEmpty:
        if (isSpace(c)) return;
        if (c === 0x7d) {
          stack[stack.length - 1] = P.ObjectValue;
          endValue(c);
          return;
        }
        if (c === 0x22) state = S.InString;
        else fail(c, 'looking for beginning of object key string');
        return;
      case S.BeginString:
        if (isSpace(c)) return;
        if (c === 0x22) state = S.InString;
        else fail(c, 'looking for beginning of object key string');
        return;
      case S.EndValue:
        endValue(c);
        return;
      case S.EndTop:
        endTopStep(c);
        return;
      case S.InString:
        if (c === 0x22) state = S.EndValue;
        else if (c === 0x5c) state = S.InStringEsc;
        else if (c < 0x20) fail(c, 'in string literal');
        return;
      case S.InStringEsc:
        if ('bfnrt\\/"'.includes(String.fromCharCode(c))) state = S.InString;
        else if (c === 0x75) state = S.InStringEscU;
        else fail(c, 'in string escape code');
        return;
      case S.InStringEscU:
      case S.InStringEscU1:
      case S.InStringEscU12:
      case S.InStringEscU123:
        if (!isHex(c)) fail(c, 'in \\u hexadecimal character escape');
        else state = state === S.InStringEscU123 ? S.InString : state + 1;
        return;
      case S.Neg:
        if (c === 0x30) state = S.Zero;
        else if (c >= 0x31 && c <= 0x39) state = S.One;
        else fail(c, 'in numeric literal');
        return;
      case S.One:
        if (isDigit(c)) return;
        zero(c);
        return;
      case S.Zero:
        zero(c);
        return;
      case S.Dot:
        if (isDigit(c)) state = S.Dot0;
        else fail(c, 'after decimal point in numeric literal');
        return;
      case S.Dot0:
        if (isDigit(c)) return;
        if (c === 0x65 || c === 0x45) state = S.E;
        else endValue(c);
        return;
      case S.E:
        if (c === 0x2b || c === 0x2d) {
          state = S.ESign;
          return;
        }
        eSign(c);
        return;
      case S.ESign:
        eSign(c);
        return;
      case S.E0:
        if (isDigit(c)) return;
        endValue(c);
        return;
      case S.LiteralTail: {
        const want = literal.charCodeAt(literalPos);
        if (c !== want) {
          fail(c, `in literal ${literal} (expecting ${quoteChar(want)})`);
          return;
        }
        literalPos++;
        if (literalPos === literal.length) state = S.EndValue;
        return;
      }
      case S.Error:
        return;
    }
  };

  const zero = (c: number): void => {
    if (c === 0x2e) state = S.Dot;
    else if (c === 0x65 || c === 0x45) state = S.E;
    else endValue(c);
  };

  const eSign = (c: number): void => {
    if (isDigit(c)) state = S.E0;
    else fail(c, 'in exponent of numeric literal');
  };

  for (let i = 0; i < buf.length; i++) {
    const c = buf[i] as number;
    // The common case, bytes inside a string, without a call per byte.
    if (state === S.InString && c !== 0x22 && c !== 0x5c && c >= 0x20) continue;
    step(c);
    if (err !== undefined) return err;
  }
  if (endTop) return undefined;
  step(0x20);
  if (endTop) return undefined;
  return err ?? 'unexpected end of JSON input';
}

/** How Go's encoding/json names a JSON value's kind in its type errors ("cannot unmarshal array into …"). */
export function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'object' ? 'object' : typeof v;
}
