/**
 * Why the local servers never close an idle kept-alive connection.
 *
 * Node's HTTP server closes a connection after 5 s without a request (`keepAliveTimeout`) and
 * announces it (`Keep-Alive: timeout=5`); clients stop reusing a connection 1 s before that. The
 * local cloud serves its clients from the same process (tests, `npm start`) or from function
 * processes on the same 2 cores, so a busy machine can stall a process for over that second: the
 * client reuses a connection at 4.x s and sends a request, and before the server reads it, the
 * server's timer (due at 5 s) fires and closes the connection with the request unread. The client
 * sees `read ECONNRESET` (the SDK: `TimeoutError: read ECONNRESET`), as a multipart upload in
 * the producer property test did under load. With the timeout off, only clients close idle
 * connections, so a request is never sent into a closing one. Closing the servers still closes
 * every connection (closeAllConnections).
 */
import type { Server } from "node:http";

export function keepIdleConnections(server: Server): void {
  server.keepAliveTimeout = 0;
}
