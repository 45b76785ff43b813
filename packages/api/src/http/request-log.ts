/**
 * Request logs: one pino line per request when it completes (Fastify writes two by default),
 * with the request id (`reqId`), method, path (never the query string: it is the user's to put
 * anything in; the route template instead for a route whose path holds a secret, a download
 * token), route template, tenant and key name, the task, status and time. Halves the logging
 * cost at full load.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The task the request is about, once known: its request log line names it. */
    taskId: string | null;
  }
  interface FastifyContextConfig {
    /** The path holds a secret (a download link's token): the log line gives the route template. */
    secretPath?: boolean;
  }
}

export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = {
      method: request.method,
      path: request.routeOptions.config.secretPath ? request.routeOptions.url : request.url.split('?', 1)[0],
      route: request.routeOptions.url,
      tenant: request.principal?.tenant,
      key: request.principal?.keyName,
      taskId: request.taskId ?? undefined,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
