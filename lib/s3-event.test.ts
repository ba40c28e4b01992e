import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decodeS3EventKey, encodeS3EventKey, isS3Notification, MalformedEventError, parseS3Event } from "./s3-event.ts";

function notification(key: string, overrides: Record<string, unknown> = {}) {
  return {
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        eventName: "ObjectCreated:Put",
        s3: { bucket: { name: "payload-bucket", arn: "arn:aws:s3:::payload-bucket" }, object: { key, size: 12 } },
        ...overrides,
      },
    ],
  };
}

// S3 object keys are up to 1024 bytes of UTF-8: any string of Unicode scalar values.
const objectKey = fc.string({ unit: "binary", minLength: 1, maxLength: 200 });

describe("S3 event keys", () => {
  test("encoding then decoding returns every key unchanged", () => {
    fc.assert(fc.property(objectKey, (key) => assert.equal(decodeS3EventKey(encodeS3EventKey(key)), key)), { numRuns: 1000 });
  });

  test("the parser returns the real key for any key S3 could send", () => {
    fc.assert(
      fc.property(objectKey, (key) => {
        const parsed = parseS3Event(notification(encodeS3EventKey(key)));
        assert.equal(parsed.kind, "records");
        assert.equal(parsed.kind === "records" && parsed.records[0]?.key, key);
      }),
      { numRuns: 500 },
    );
  });

  test("encodes like S3: space as +, + as %2B, slash kept", () => {
    assert.equal(encodeS3EventKey("red flower.jpg"), "red+flower.jpg");
    assert.equal(encodeS3EventKey("this im + age.txt"), "this+im+%2B+age.txt");
    assert.equal(encodeS3EventKey("payloads/dt=2026-11-23/a b.json"), "payloads/dt%3D2026-11-23/a+b.json");
    assert.equal(encodeS3EventKey("é"), "%C3%A9");
  });

  test("decodes what S3 sends", () => {
    assert.equal(decodeS3EventKey("red+flower.jpg"), "red flower.jpg");
    assert.equal(decodeS3EventKey("a%2Bb"), "a+b");
    assert.equal(decodeS3EventKey("test%2F10%3A47.log"), "test/10:47.log");
  });

  test("bad percent-encoding is a clear error", () => {
    assert.throws(() => decodeS3EventKey("bad%E0%A4%A"), (e: Error) => e instanceof MalformedEventError && /not valid form-URL-encoding: "bad%E0%A4%A"/.test(e.message));
  });
});

describe("S3 event parsing", () => {
  test("every record is returned, with Put, Post, Copy and CompleteMultipartUpload accepted", () => {
    const names = ["ObjectCreated:Put", "ObjectCreated:Post", "ObjectCreated:Copy", "ObjectCreated:CompleteMultipartUpload"];
    const event = { Records: names.map((eventName, i) => ({ ...notification(`k${i}`).Records[0], eventName })) };
    const parsed = parseS3Event(event);
    assert.equal(parsed.kind, "records");
    assert.deepEqual(parsed.kind === "records" && parsed.records.map((r) => [r.eventName, r.key]), names.map((n, i) => [n, `k${i}`]));
  });

  test("s3:TestEvent is recognised so it can be ignored", () => {
    const event = { Service: "Amazon S3", Event: "s3:TestEvent", Time: "2026-11-23T00:00:00.000Z", Bucket: "payload-bucket" };
    assert.ok(isS3Notification(event));
    assert.deepEqual(parseS3Event(event), { kind: "test-event", bucket: "payload-bucket" });
  });

  test("malformed events are rejected with what is wrong", () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /not a JSON object/],
      [{}, /no Records array/],
      [{ Records: [] }, /no Records array/],
      [{ Records: ["x"] }, /Records\[0\] is not an object/],
      [notification("k", { eventSource: "aws:sqs" }), /Records\[0\]\.eventSource is "aws:sqs", expected "aws:s3"/],
      [notification("k", { eventName: "ObjectRemoved:Delete" }), /eventName is "ObjectRemoved:Delete", expected ObjectCreated/],
      [notification("k", { s3: {} }), /Records\[0\]\.s3 must hold bucket and object/],
      [notification(""), /s3\.object\.key is missing/],
      [notification("k", { s3: { bucket: { name: "b" }, object: { key: "k", size: "12" } } }), /size is "12", expected a non-negative integer/],
      // A size that no object can have would make the consumer's size check meaningless.
      [notification("k", { s3: { bucket: { name: "b" }, object: { key: "k", size: -1 } } }), /size is -1, expected a non-negative integer/],
      [notification("k", { s3: { bucket: { name: "b" }, object: { key: "k", size: 1.5 } } }), /size is 1\.5, expected a non-negative integer/],
      [notification("k", { s3: { bucket: { name: "b" }, object: { key: "k", size: 2 ** 53 } } }), /size is 9007199254740992, expected a non-negative integer/],
    ];
    for (const [event, message] of cases) {
      assert.throws(() => parseS3Event(event), (e: Error) => e instanceof MalformedEventError && message.test(e.message), `for ${JSON.stringify(event)}`);
    }
  });

  test("isS3Notification only accepts S3-shaped events", () => {
    assert.ok(isS3Notification(notification("k")));
    assert.ok(!isS3Notification({ Records: [{ eventSource: "aws:sqs" }] }));
    assert.ok(!isS3Notification({ key: "value" }));
    assert.ok(!isS3Notification("Records"));
  });
});
