// Decoding of the Kubernetes protobuf wire format for request bodies. kubectl's typed clients
// (`kubectl create configmap`, `create namespace`) send `application/vnd.kubernetes.protobuf` and
// client-go never falls back to JSON for it, so the server must read it. Answers are always JSON
// (the same clients accept it). Only the kinds kubectl creates this way are decoded.

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export class ProtobufDecodeError extends Error {
  override name = 'ProtobufDecodeError';
}

interface Field {
  num: number;
  wire: number;
  varint?: bigint;
  bytes?: Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new ProtobufDecodeError('truncated varint');
    const b = buf[pos++] as number;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
    if (shift > 63n) throw new ProtobufDecodeError('varint too long');
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const num = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    switch (wire) {
      case 0: {
        const [v, next] = readVarint(buf, pos);
        out.push({ num, wire, varint: v });
        pos = next;
        break;
      }
      case 1:
        pos += 8;
        break;
      case 2: {
        const [len, next] = readVarint(buf, pos);
        const end = next + Number(len);
        if (end > buf.length) throw new ProtobufDecodeError('truncated field');
        out.push({ num, wire, bytes: buf.subarray(next, end) });
        pos = end;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new ProtobufDecodeError(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

const str = (f: Field) => (f.bytes ?? Buffer.alloc(0)).toString('utf8');
const int = (f: Field) => Number(BigInt.asIntN(64, f.varint ?? 0n));

function mapEntry(f: Field): [string, Buffer] {
  let key = '';
  let value: Buffer = Buffer.alloc(0);
  for (const e of fields(f.bytes ?? Buffer.alloc(0))) {
    if (e.num === 1) key = str(e);
    else if (e.num === 2) value = e.bytes ?? Buffer.alloc(0);
  }
  return [key, value];
}

/** Time and MicroTime messages; the zero time is what Go sends for "unset". */
function time(f: Field, micro: boolean): string | undefined {
  let seconds = 0;
  let nanos = 0;
  for (const e of fields(f.bytes ?? Buffer.alloc(0))) {
    if (e.num === 1) seconds = int(e);
    else if (e.num === 2) nanos = int(e);
  }
  if (seconds === 0 && nanos === 0) return undefined;
  const iso = new Date(seconds * 1000).toISOString();
  return micro ? iso.replace(/\.\d{3}Z$/, `.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`) : iso.replace(/\.\d{3}Z$/, 'Z');
}

function ownerReference(buf: Buffer): Record<string, unknown> {
  const ref: Record<string, unknown> = {};
  const names: Record<number, string> = { 1: 'kind', 3: 'name', 4: 'uid', 5: 'apiVersion' };
  for (const f of fields(buf)) {
    const name = names[f.num];
    if (name) ref[name] = str(f);
    else if (f.num === 6) ref['controller'] = f.varint !== 0n;
    else if (f.num === 7) ref['blockOwnerDeletion'] = f.varint !== 0n;
  }
  return ref;
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  const strings: Record<number, string> = { 1: 'name', 2: 'generateName', 3: 'namespace', 5: 'uid', 6: 'resourceVersion' };
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const owners: Record<string, unknown>[] = [];
  const finalizers: string[] = [];
  for (const f of fields(buf)) {
    const name = strings[f.num];
    if (name) {
      if (str(f) !== '') m[name] = str(f);
    } else if (f.num === 8 || f.num === 9) {
      const t = time(f, false);
      if (t) m[f.num === 8 ? 'creationTimestamp' : 'deletionTimestamp'] = t;
    } else if (f.num === 11 || f.num === 12) {
      const [k, v] = mapEntry(f);
      (f.num === 11 ? labels : annotations)[k] = v.toString('utf8');
    } else if (f.num === 13) {
      owners.push(ownerReference(f.bytes ?? Buffer.alloc(0)));
    } else if (f.num === 14) {
      finalizers.push(str(f));
    }
  }
  if (Object.keys(labels).length > 0) m['labels'] = labels;
  if (Object.keys(annotations).length > 0) m['annotations'] = annotations;
  if (owners.length > 0) m['ownerReferences'] = owners;
  if (finalizers.length > 0) m['finalizers'] = finalizers;
  return m;
}

function configMap(buf: Buffer): Record<string, unknown> {
  const obj: Record<string, unknown> = { metadata: {} };
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  for (const f of fields(buf)) {
    if (f.num === 1) obj['metadata'] = objectMeta(f.bytes ?? Buffer.alloc(0));
    else if (f.num === 2) {
      const [k, v] = mapEntry(f);
      data[k] = v.toString('utf8');
    } else if (f.num === 3) {
      const [k, v] = mapEntry(f);
      binaryData[k] = v.toString('base64');
    } else if (f.num === 4) obj['immutable'] = f.varint !== 0n;
  }
  if (Object.keys(data).length > 0) obj['data'] = data;
  if (Object.keys(binaryData).length > 0) obj['binaryData'] = binaryData;
  return obj;
}

function namespace(buf: Buffer): Record<string, unknown> {
  const obj: Record<string, unknown> = { metadata: {} };
  for (const f of fields(buf)) {
    if (f.num === 1) obj['metadata'] = objectMeta(f.bytes ?? Buffer.alloc(0));
    else if (f.num === 2) {
      const finalizers = fields(f.bytes ?? Buffer.alloc(0))
        .filter((e) => e.num === 1)
        .map(str);
      obj['spec'] = finalizers.length > 0 ? { finalizers } : {};
    }
  }
  return obj;
}

function lease(buf: Buffer): Record<string, unknown> {
  const obj: Record<string, unknown> = { metadata: {} };
  for (const f of fields(buf)) {
    if (f.num === 1) obj['metadata'] = objectMeta(f.bytes ?? Buffer.alloc(0));
    else if (f.num === 2) {
      const spec: Record<string, unknown> = {};
      for (const e of fields(f.bytes ?? Buffer.alloc(0))) {
        if (e.num === 1) spec['holderIdentity'] = str(e);
        else if (e.num === 2) spec['leaseDurationSeconds'] = int(e);
        else if (e.num === 3 || e.num === 4) {
          const t = time(e, true);
          if (t) spec[e.num === 3 ? 'acquireTime' : 'renewTime'] = t;
        } else if (e.num === 5) spec['leaseTransitions'] = int(e);
      }
      obj['spec'] = spec;
    }
  }
  return obj;
}

function stringFields(buf: Buffer, names: Readonly<Record<number, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields(buf)) {
    const name = names[f.num];
    if (name && f.wire === 2) out[name] = str(f);
  }
  return out;
}

/** `kubectl auth can-i` asks with a protobuf SelfSubjectAccessReview. */
function selfSubjectAccessReview(buf: Buffer): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    if (f.num !== 2) continue;
    for (const e of fields(f.bytes ?? Buffer.alloc(0))) {
      const body = e.bytes ?? Buffer.alloc(0);
      if (e.num === 1) {
        spec['resourceAttributes'] = stringFields(body, { 1: 'namespace', 2: 'verb', 3: 'group', 4: 'version', 5: 'resource', 6: 'subresource', 7: 'name' });
      } else if (e.num === 2) {
        spec['nonResourceAttributes'] = stringFields(body, { 1: 'path', 2: 'verb' });
      }
    }
  }
  return { metadata: {}, spec };
}

const DECODERS: Readonly<Record<string, (buf: Buffer) => Record<string, unknown>>> = {
  ConfigMap: configMap,
  Namespace: namespace,
  Lease: lease,
  SelfSubjectAccessReview: selfSubjectAccessReview,
};

export function canDecodeProtobuf(kind: string): boolean {
  return kind in DECODERS;
}

/** The JSON form of a protobuf-encoded object of `kind` (the `k8s\0` envelope around runtime.Unknown). */
export function decodeProtobuf(kind: string, body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new ProtobufDecodeError('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
  let apiVersion = '';
  let bodyKind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const f of fields(body.subarray(4))) {
    if (f.num === 1) {
      for (const t of fields(f.bytes ?? Buffer.alloc(0))) {
        if (t.num === 1) apiVersion = str(t);
        else if (t.num === 2) bodyKind = str(t);
      }
    } else if (f.num === 2) raw = f.bytes ?? Buffer.alloc(0);
  }
  const decode = DECODERS[bodyKind || kind];
  if (!decode) throw new ProtobufDecodeError(`no protobuf decoder for kind "${bodyKind || kind}"`);
  return { apiVersion, kind: bodyKind, ...decode(raw) };
}
