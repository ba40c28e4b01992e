/**
 * What the sender's PutObject puts on the wire, seen by a real HTTP server on loopback through the
 * real SDK: the payload's own bytes, the sender's sha256 as the object's SHA-256 checksum (which
 * S3 verifies) and as the signed payload hash, and no checksum the SDK computed itself.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { sha256Hex, type PayloadMeta } from "./payload-codec.ts";
import { putPayloadObject } from "./s3-client.ts";

test("PutObject sends the payload as it is, with the sender's sha256 as checksum and signed payload hash", async () => {
  const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: Buffer }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { etag: '"x"' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
  });
  try {
    const bytes = Buffer.from('{"key":"value","n":[1,2,3]}');
    const meta: PayloadMeta = { id: "id-1", format: "json", size: bytes.length, sha256: sha256Hex(bytes), sentAt: "2026-12-01T00:00:00.000Z" };
    await putPayloadObject("bucket", "payloads/2026/12/01/id-1.json", bytes, meta);

    assert.equal(seen.length, 1);
    const { method, url, headers, body } = seen[0]!;
    assert.equal(method, "PUT");
    assert.equal(url?.split("?")[0], "/bucket/payloads/2026/12/01/id-1.json");
    assert.deepEqual(body, bytes, "the object is the payload's own bytes");
    assert.equal(headers["x-amz-checksum-sha256"], Buffer.from(meta.sha256, "hex").toString("base64"));
    assert.equal(headers["x-amz-sdk-checksum-algorithm"], "SHA256");
    assert.equal(headers["x-amz-content-sha256"], meta.sha256, "request signing uses the sender's hash");
    assert.match(String(headers.authorization), /SignedHeaders=[^,]*x-amz-content-sha256/);
    assert.deepEqual(Object.keys(headers).filter((h) => /^x-amz-checksum-(?!sha256$)/.test(h)), [], "no CRC32 or other checksum of the SDK's own");
    assert.equal(headers["x-amz-meta-payload-sha256"], meta.sha256);
  } finally {
    server.close();
  }
});
