import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { App } from "cdktf";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { cdktfJsonContext, loadStackConfig } from "./config.ts";
import { loadProjectConfig } from "./project-config.ts";

test("reads the same settings as the cdktf App that synthesizes the stack", () => {
  const context = JSON.stringify({ memorySize: 1024, region: "eu-central-1", alwaysS3: true });
  const env = { CDKTF_CONTEXT_JSON: context, STACK_MEMORY_SIZE: "2048", STACK_PAYLOAD_PREFIX: "in/" };
  const saved = process.env.CDKTF_CONTEXT_JSON;
  process.env.CDKTF_CONTEXT_JSON = context; // the App reads it from process.env
  try {
    const app = new App({ context: cdktfJsonContext(path.join(PROJECT_ROOT, "cdktf.json")), outdir: path.join(PROJECT_ROOT, "cdktf.out") });
    const expected = loadStackConfig(app.node, env);
    const actual = loadProjectConfig(env);
    assert.deepEqual(actual, expected);
    assert.equal(actual.memorySize, 2048, "an environment variable beats context");
    assert.equal(actual.region, "eu-central-1", "CDKTF_CONTEXT_JSON is read");
    assert.equal(actual.payloadPrefix, "in/");
  } finally {
    if (saved === undefined) delete process.env.CDKTF_CONTEXT_JSON;
    else process.env.CDKTF_CONTEXT_JSON = saved;
  }
});

test("a malformed CDKTF_CONTEXT_JSON is named", () => {
  assert.throws(() => loadProjectConfig({ CDKTF_CONTEXT_JSON: "{region:" }), /context = "\{region:" \(from environment variable CDKTF_CONTEXT_JSON\): must be a JSON object/);
});
