/**
 * The Node.js versions the README and docs/development.md ("Node.js versions") promise: package.json's engines
 * floor, the Node the tests run on, and the Lambda runtimes the stack offers must agree with it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { RUNTIMES } from "../stacks/config.ts";

const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { engines?: { node?: string } };
const readme = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
const versionsPage = readFileSync(path.join(PROJECT_ROOT, "docs", "development.md"), "utf8");

/** The engines range is a plain floor, ">=MAJOR.MINOR.PATCH"; anything fancier needs a semver parser here. */
function floor(): [number, number, number] {
  const m = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(pkg.engines?.node ?? "");
  assert.ok(m, `package.json engines.node is a ">=x.y.z" floor, got ${JSON.stringify(pkg.engines?.node)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

const atLeast = (version: readonly number[], min: readonly number[]) => {
  for (let i = 0; i < 3; i++) if ((version[i] ?? 0) !== min[i]) return (version[i] ?? 0) > min[i]!;
  return true;
};

test("the tests run on a Node.js version package.json supports", () => {
  const running = process.versions.node.split(".").map(Number);
  assert.ok(atLeast(running, floor()), `Node ${process.versions.node} is below engines.node ${pkg.engines?.node}`);
});

test("every Lambda runtime the stack offers is a supported Node.js version, and docs/development.md names it", () => {
  for (const [runtime, target] of Object.entries(RUNTIMES)) {
    const major = Number(/^node(\d+)$/.exec(target)?.[1]);
    // Lambda runs a current minor of its major, so the major decides.
    assert.ok(major >= floor()[0], `${runtime} (${target}) is below engines.node ${pkg.engines?.node}`);
    assert.ok(versionsPage.includes(`\`${runtime}\``), `docs/development.md's Node.js versions mention ${runtime}`);
  }
});

test("the README and docs/development.md state the floor package.json enforces", () => {
  const [major, minor] = floor();
  assert.ok(versionsPage.includes(`**Supported: Node.js ${major}.${minor} or later**`), `docs/development.md states "Node.js ${major}.${minor} or later"`);
  assert.ok(readme.includes(`Node.js ${major}.${minor} or later (see [Node.js versions](docs/development.md#nodejs-versions))`), "and the README says so where the two commands are");
});
