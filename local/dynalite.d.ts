// dynalite 4.0.0 ships no types; this covers only what local/dynamodb.ts uses.

declare module "dynalite" {
  import type { Server } from "node:http";

  export interface DynaliteOptions {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    path?: string;
  }

  export default function dynalite(options?: DynaliteOptions): Server;
}
