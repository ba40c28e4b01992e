/**
 * One JSON object per line, so CloudWatch Logs Insights and `npm run local` can filter on fields.
 */
export type Level = "debug" | "info" | "warn" | "error";

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, message, ...fields });
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}
