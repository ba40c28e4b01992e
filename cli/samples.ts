/**
 * Payloads for the demo, in the original sample's shapes: `{"key":"value"}`, and a large array of
 * `{"key":N,"value":"serverless","dummy":"data"}` like its payload/payload-large.json.
 */
export const SMALL_SAMPLE = { key: "value" };

/** The smallest sample-shaped array whose JSON is larger than `minBytes`. */
export function largeSample(minBytes: number): Array<{ key: number; value: string; dummy: string }> {
  const items: Array<{ key: number; value: string; dummy: string }> = [];
  let size = 2; // the brackets
  while (size <= minBytes) {
    const item = { key: items.length, value: "serverless", dummy: "data" };
    size += Buffer.byteLength(JSON.stringify(item)) + (items.length > 0 ? 1 : 0);
    items.push(item);
  }
  return items;
}
