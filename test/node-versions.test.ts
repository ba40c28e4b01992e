/**
 * The Node.js versions the README and docs/development.md ("Node.js versions") promise: package.json's engines
 * floor, the Node the npm scripts run on (the `node` devDependency's, whatever the system has),
 * and the Lambda runtimes the stack offers must agree with it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { findExecutable } from "../local/executables.ts";
import { RUNTIMES } from "../stacks/config.ts";

const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as {
  engines?: { node?: string };
  devDependencies?: Record<string, string>;
};
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
const parse = (v: string) => v.replace(/^v/, "").split(".").map(Number);

test("the tests run on a Node.js version package.json supports", () => {
  assert.ok(atLeast(parse(process.versions.node), floor()), `Node ${process.versions.node} is below engines.node ${pkg.engines?.node}`);
});

test("npm scripts run on the Node.js of the `node` devDependency, even when the system's Node comes first on PATH", async () => {
  const brought = pkg.devDependencies?.node;
  assert.ok(brought && /^\d+\.\d+\.\d+$/.test(brought), `package.json pins the node devDependency exactly, got ${JSON.stringify(brought)}`);
  assert.ok(atLeast(parse(brought), floor()), `the node devDependency ${brought} meets engines.node ${pkg.engines?.node}`);
  // A user's shell: no project node_modules/.bin on PATH, so the system's node and npm are found.
  const userPath = (process.env.PATH ?? "").split(path.delimiter).filter((d) => !d.endsWith(path.join("node_modules", ".bin"))).join(path.delimiter);
  const npm = findExecutable("npm", userPath);
  assert.ok(npm, `npm is on PATH (${userPath})`);
  const run = promisify(execFile);
  // `npm run env` prints the environment npm gives every script.
  const { stdout } = await run(npm, ["run", "env"], { cwd: PROJECT_ROOT, env: { ...process.env, PATH: userPath }, maxBuffer: 4 * 1024 * 1024 });
  const scriptPath = /^PATH=(.*)$/m.exec(stdout)?.[1];
  assert.ok(scriptPath, `npm run env prints PATH:\n${stdout.slice(0, 2000)}`);
  const node = findExecutable("node", scriptPath);
  assert.equal(node, path.join(PROJECT_ROOT, "node_modules", ".bin", "node"), "the first node an npm script finds is the project's");
  const { stdout: version } = await run(node!, ["--version"]);
  assert.equal(version.trim(), `v${brought}`, "and it is the version package.json pins");
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
  const twoCommands = readme.slice(readme.indexOf("## The two commands"), readme.indexOf("```sh", readme.indexOf("## The two commands")));
  assert.ok(twoCommands.startsWith(`## The two commands\n\nNode.js ${major}.${minor} or later`), `the README states the floor where the two commands are:\n${twoCommands}`);
  assert.ok(twoCommands.includes("[Node.js versions](docs/development.md#nodejs-versions)"), "and links to docs/development.md's Node.js versions");
});
