// A Swagger 2.0 document in gnostic's OpenAPIv2 protobuf encoding (package openapi.v2, message
// Document): what kubectl asks /openapi/v2 for, and the only form client-go's discovery reads.
// Each message is a table from JSON key to field number, for the keys the served document uses;
// `x-` keys become vendor extensions, whose values travel as YAML text (which JSON text is). A key
// a table does not know throws, so nothing in the JSON form can go missing from this one unnoticed.

type Json = unknown;
type Encode = (value: Json) => Buffer[];
type Message = (value: Json) => Buffer;

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    bytes.push(b);
  } while (v > 0n);
  return Buffer.from(bytes);
}

function tag(num: number, wire: number): Buffer {
  return varint(num * 8 + wire);
}

function bytesField(num: number, payload: Buffer): Buffer {
  return Buffer.concat([tag(num, 2), varint(payload.length), payload]);
}

const str =
  (num: number): Encode =>
  (v) => [bytesField(num, Buffer.from(String(v), 'utf8'))];
const strs =
  (num: number): Encode =>
  (v) =>
    (v as string[]).flatMap(str(num));
const bool =
  (num: number): Encode =>
  (v) =>
    v ? [Buffer.concat([tag(num, 0), varint(1)])] : [];
const msg =
  (num: number, encode: Message): Encode =>
  (v) => [bytesField(num, encode(v))];
const msgs =
  (num: number, encode: Message): Encode =>
  (v) =>
    (v as Json[]).flatMap(msg(num, encode));

/** Any { string yaml = 2 }: JSON text is YAML, which is what gnostic's readers parse it as. */
const any: Message = (v) => str(2)(JSON.stringify(v))[0] as Buffer;

function named(name: string, value: Buffer): Buffer {
  return Buffer.concat([str(1)(name)[0] as Buffer, bytesField(2, value)]);
}

/** A JSON map as `repeated Named<T> = num` of (name = 1, value = 2) pairs, in key order. */
const namedMap =
  (num: number, encode: Message): Encode =>
  (v) =>
    Object.entries(v as Record<string, Json>).map(([k, x]) => bytesField(num, named(k, encode(x))));

function message(name: string, fields: Readonly<Record<string, Encode>>, extensions: number): Message {
  return (value) => {
    const parts: Buffer[] = [];
    for (const [key, v] of Object.entries(value as Record<string, Json>)) {
      if (v === undefined) continue;
      const encode = fields[key];
      if (encode) parts.push(...encode(v));
      else if (key.startsWith('x-')) parts.push(bytesField(extensions, named(key, any(v))));
      else throw new Error(`OpenAPI v2 protobuf: no field for "${key}" in ${name}`);
    }
    return Buffer.concat(parts);
  };
}

/** A JSON object whose `x-` keys are vendor extensions and other keys named entries. */
function namedWithExtensions(entries: number, extensions: number, encode: Message): Message {
  return (value) =>
    Buffer.concat(Object.entries(value as Record<string, Json>).map(([k, x]) => bytesField(k.startsWith('x-') ? extensions : entries, named(k, k.startsWith('x-') ? any(x) : encode(x)))));
}

const schemaFields: Record<string, Encode> = {
  $ref: str(1),
  format: str(2),
  description: str(4),
  required: strs(19),
  // AdditionalPropertiesItem { oneof { Schema schema = 1; ... } }
  additionalProperties: msg(21, (v) => bytesField(1, schema(v))),
  // TypeItem { repeated string value = 1; }
  type: msg(22, (v) => Buffer.concat(str(1)(v))),
  // ItemsItem { repeated Schema schema = 1; }
  items: msg(23, (v) => bytesField(1, schema(v))),
  // Properties { repeated NamedSchema additional_properties = 1; }
  properties: msg(25, (v) => Buffer.concat(namedMap(1, schema)(v))),
};

function schema(value: Json): Buffer {
  return message('Schema', schemaFields, 31)(value);
}

/** Query and path parameters differ in field numbers from `type` on (QueryParameterSubSchema has allowEmptyValue = 5). */
const queryParameter = message('QueryParameterSubSchema', { required: bool(1), in: str(2), name: str(4), type: str(6), uniqueItems: bool(20) }, 23);
const pathParameter = message('PathParameterSubSchema', { required: bool(1), in: str(2), name: str(4), type: str(5), uniqueItems: bool(19) }, 22);
const bodyParameter = message('BodyParameter', { name: str(2), in: str(3), required: bool(4), schema: msg(5, schema) }, 6);

/** ParametersItem { oneof { Parameter parameter = 1; ... } } */
function parametersItem(value: Json): Buffer {
  const p = value as Record<string, Json>;
  // Parameter { oneof { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; } }
  if (p['in'] === 'body') return bytesField(1, bytesField(1, bodyParameter(p)));
  // NonBodyParameter { oneof { header = 1; form_data = 2; query = 3; path = 4; } }
  if (p['in'] === 'query') return bytesField(1, bytesField(2, bytesField(3, queryParameter(p))));
  if (p['in'] === 'path') return bytesField(1, bytesField(2, bytesField(4, pathParameter(p))));
  throw new Error(`OpenAPI v2 protobuf: parameters in ${String(p['in'])} are not encoded`);
}

/** Response { description = 1; SchemaItem schema = 2 } where SchemaItem { oneof { Schema schema = 1; ... } }. */
const response = message('Response', { description: str(1), schema: msg(2, (v) => bytesField(1, schema(v))) }, 5);

/** Responses { repeated NamedResponseValue response_code = 1; } where ResponseValue { oneof { Response response = 1; ... } }. */
const responses = namedWithExtensions(1, 2, (v) => bytesField(1, response(v)));

const operation = message('Operation', { tags: strs(1), operationId: str(5), produces: strs(6), consumes: strs(7), parameters: msgs(8, parametersItem), responses: msg(9, responses) }, 13);

const pathItem = message(
  'PathItem',
  { get: msg(2, operation), put: msg(3, operation), post: msg(4, operation), delete: msg(5, operation), patch: msg(8, operation), parameters: msgs(9, parametersItem) },
  10,
);

const info = message('Info', { title: str(1), version: str(2) }, 7);

/** Paths { repeated NamedAny vendor_extension = 1; repeated NamedPathItem path = 2; } */
const paths = namedWithExtensions(2, 1, pathItem);

const document = message(
  'Document',
  {
    swagger: str(1),
    info: msg(2, info),
    paths: msg(8, paths),
    // Definitions { repeated NamedSchema additional_properties = 1; }
    definitions: msg(9, (v) => Buffer.concat(namedMap(1, schema)(v))),
  },
  16,
);

/** The gnostic openapi.v2.Document encoding of a Swagger 2.0 document given as JSON. */
export function encodeOpenApiV2(swagger: Json): Buffer {
  return document(swagger);
}
