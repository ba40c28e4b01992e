/**
 * `JSON.stringify` for JSON of any depth. V8's `JSON.parse` is iterative, so the Lambda runtime
 * hands a function events nested far deeper than V8's recursive `JSON.stringify` can write back
 * (about 4,100 levels of arrays on Node 22, fewer when the stack is already in use): it throws
 * `RangeError: Maximum call stack size exceeded`. Both functions re-serialize what the runtime
 * parsed, so a deep payload would fail in the sender and again in the consumer.
 *
 * The native call stays the fast path; only when it overflows does an explicit-stack writer take
 * over, producing the same text (the tests compare it with `JSON.stringify` on generated JSON).
 */

/** A value the explicit-stack writer cannot write the way `JSON.stringify` would. */
export class UnsupportedJsonValueError extends Error {
  override readonly name = "UnsupportedJsonValueError";
}

export function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return deepJsonText(value);
  }
}

type Frame =
  | { readonly kind: "array"; readonly items: readonly unknown[]; index: number }
  | { readonly kind: "object"; readonly source: Record<string, unknown>; readonly keys: string[]; index: number; wrote: boolean };

/**
 * Writes parsed JSON (null, booleans, finite numbers, strings, arrays, plain objects) without
 * recursion. Anything else (a `toJSON` method, `undefined`, a function, a cycle) cannot come from
 * `JSON.parse`; it gets a named error instead of a guess at `JSON.stringify`'s rules.
 */
export function deepJsonText(value: unknown): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const open = new Set<object>();
  let depth = 0;

  const write = (v: unknown): void => {
    if (v === null || typeof v === "boolean" || typeof v === "string" || (typeof v === "number" && Number.isFinite(v))) {
      out.push(JSON.stringify(v));
      return;
    }
    if (typeof v !== "object" || typeof (v as { toJSON?: unknown }).toJSON === "function") {
      throw new UnsupportedJsonValueError(`Cannot serialize ${describe(v)} at depth ${depth}: only parsed JSON data can be nested this deep`);
    }
    if (open.has(v)) throw new UnsupportedJsonValueError(`Cannot serialize a circular structure at depth ${depth}`);
    open.add(v);
    depth++;
    if (Array.isArray(v)) {
      out.push("[");
      stack.push({ kind: "array", items: v, index: 0 });
    } else {
      out.push("{");
      stack.push({ kind: "object", source: v as Record<string, unknown>, keys: Object.keys(v), index: 0, wrote: false });
    }
  };

  write(value);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.kind === "array") {
      if (frame.index < frame.items.length) {
        if (frame.index > 0) out.push(",");
        const item = frame.items[frame.index++];
        // JSON.stringify writes holes and undefined array items as null; parsed JSON has neither.
        write(item === undefined ? null : item);
        continue;
      }
      out.push("]");
      open.delete(frame.items);
    } else {
      if (frame.index < frame.keys.length) {
        const key = frame.keys[frame.index++]!;
        const item = frame.source[key];
        if (item === undefined) continue;
        if (frame.wrote) out.push(",");
        frame.wrote = true;
        out.push(JSON.stringify(key), ":");
        write(item);
        continue;
      }
      out.push("}");
      open.delete(frame.source);
    }
    stack.pop();
    depth--;
  }
  return out.join("");
}

function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "number") return String(v);
  if (typeof v === "object" && v !== null) return "an object with a toJSON method";
  return `a ${typeof v}`;
}
