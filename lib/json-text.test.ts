import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { jsonEvent } from "../test/arbitraries.ts";
import { deepJsonText, jsonText, UnsupportedJsonValueError } from "./json-text.ts";
import { decodeInlineEvent, inlineEnvelope, payloadFromEvent, sha256Hex } from "./payload-codec.ts";

const DEPTH = 100_000;
/** `{"a":[{"a":[ ... 1 ... ]}]}`: objects and arrays alternating, `depth` levels in all. */
const deepText = (depth: number) => '{"a":['.repeat(depth / 2) + "1" + "]}".repeat(depth / 2);

test("the explicit-stack writer produces JSON.stringify's text for parsed JSON", () => {
  fc.assert(
    fc.property(jsonEvent, (v) => {
      assert.equal(deepJsonText(v), JSON.stringify(v));
    }),
    { numRuns: 300 },
  );
});

test("JSON.stringify overflows long before the depth a Lambda event can have; jsonText does not", () => {
  const text = deepText(DEPTH);
  const parsed = JSON.parse(text) as unknown;
  assert.throws(() => JSON.stringify(parsed), RangeError, "the native writer's limit this module exists for");
  assert.equal(jsonText(parsed), text);
});

test("a deep event becomes payload bytes in the sender and the same bytes again in the consumer", () => {
  const text = deepText(DEPTH);
  const { bytes, format } = payloadFromEvent(JSON.parse(text));
  assert.equal(format, "json");
  assert.equal(bytes.toString("utf8"), text);
  const meta = { id: "deep", format, size: bytes.length, sha256: sha256Hex(bytes), sentAt: new Date(0).toISOString() };
  const event = JSON.parse(inlineEnvelope(meta, bytes).body().toString("utf8")) as unknown;
  assert.equal(decodeInlineEvent(event).bytes.toString("utf8"), text);
});

test("something parsed JSON cannot contain, nested too deep for JSON.stringify, gets a named error", () => {
  let v: unknown = { toJSON: () => "x" };
  for (let i = 0; i < DEPTH; i++) v = [v];
  assert.throws(() => jsonText(v), (err: Error) => {
    assert.equal(err.name, UnsupportedJsonValueError.name);
    assert.equal(err.message, `Cannot serialize an object with a toJSON method at depth ${DEPTH}: only parsed JSON data can be nested this deep`);
    return true;
  });
});
