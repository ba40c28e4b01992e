import assert from "node:assert/strict";
import { test } from "node:test";
import { loadProjectConfig } from "../stacks/project-config.ts";
import { localCloudOptions } from "./cloud-from-config.ts";

test("the local consumer gets the configured ephemeral storage, as the stack gives the deployed one", () => {
  assert.equal(localCloudOptions(loadProjectConfig({})).consumerEphemeralStorageMb, 512);
  assert.equal(localCloudOptions(loadProjectConfig({ STACK_CONSUMER_EPHEMERAL_STORAGE_MB: "2048" })).consumerEphemeralStorageMb, 2048);
});
