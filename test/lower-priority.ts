/**
 * Preloaded by test/run.ts into the queue's test processes when the machine is idle: they and
 * everything they start (local clouds, CLIs, functions) yield the CPU to the real-terraform lanes,
 * whose chains of dependent commands would otherwise be what `npm test` waits on at the end.
 */
import os from "node:os";

os.setPriority(10);
