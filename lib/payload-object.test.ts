import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { sha256Hex, type PayloadMeta } from "./payload-codec.ts";
import { fromObjectMetadata, payloadIdFromKey, payloadObjectKey, toObjectMetadata } from "./payload-object.ts";

const meta: PayloadMeta = { id: "6f1c2a9e-1111-4222-8333-444455556666", format: "json", size: 2, sha256: sha256Hex(Buffer.from("{}")), sentAt: "2026-11-23T18:00:00.000Z" };

test("keys are prefix, date path and the unique id", () => {
  assert.equal(payloadObjectKey("payloads/", meta), "payloads/2026/11/23/6f1c2a9e-1111-4222-8333-444455556666.json");
  assert.equal(payloadObjectKey("p/", { ...meta, format: "binary" }), "p/2026/11/23/6f1c2a9e-1111-4222-8333-444455556666.bin");
});

test("a key names its payload id, also as a multipart payload's commit key; other keys name none", () => {
  for (const format of ["json", "binary"] as const) {
    const key = payloadObjectKey("in flight+payloads/", { ...meta, format });
    assert.equal(payloadIdFromKey(key), meta.id);
    assert.equal(payloadIdFromKey(`${key}.commit`), meta.id);
  }
  for (const other of ["payloads/2026/11/23/x.txt", "payloads/2026/11/23/", "payloads/x.json.commit.commit", ""]) {
    assert.equal(payloadIdFromKey(other), undefined, other);
  }
});

test("keys never collide for distinct ids sent in the same millisecond", () => {
  const keys = new Set(Array.from({ length: 10_000 }, () => payloadObjectKey("payloads/", { ...meta, id: crypto.randomUUID() })));
  assert.equal(keys.size, 10_000);
});

test("metadata round-trips what the sender recorded", () => {
  fc.assert(
    fc.property(fc.uuid(), fc.constantFrom("json" as const, "binary" as const), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 }), (id, format, size, b) => {
      const m: PayloadMeta = { id, format, size, sha256: sha256Hex(b), sentAt: meta.sentAt };
      assert.deepEqual(fromObjectMetadata(toObjectMetadata(m), "s3://b/k"), m);
    }),
  );
});

test("missing or altered metadata is named", () => {
  const md = toObjectMetadata(meta);
  assert.throws(() => fromObjectMetadata(undefined, "s3://b/k"), /s3:\/\/b\/k metadata\.id is missing/);
  assert.throws(() => fromObjectMetadata({ ...md, "payload-size": "2x" }, "s3://b/k"), /metadata\.size is "2x"/);
});
