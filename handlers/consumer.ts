/**
 * AsynchronousFunction, the reference consumer: the package's consumer runtime around this
 * repository's business function. A team's own consumer is the same two lines around its own
 * module (README, "Embed the construct").
 */
import { createConsumerHandler } from "../lib/consumer.ts";
import { processPayload, processPayloadStream } from "./process-payload.ts";

export const handler = createConsumerHandler({ processPayload, processPayloadStream });
