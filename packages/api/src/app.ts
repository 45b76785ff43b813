/**
 * `buildApp(deps)`: the API as a Fastify instance, not listening (server.ts listens; tests use
 * `inject()`). Redis, the artifact store, the logger, the keyring and the clock are passed in.
 * Layout: /healthz, /readyz, /metrics, /openapi.json and /docs need no key; everything under /v1
 * sits in one plugin context whose onRequest hook authenticates, with one plugin per resource,
 * except GET /v1/downloads/:token, registered beside it: a download link's token is its credential.
 */
import { randomUUID } from 'node:crypto';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import {
  listLiveTrackers,
  queueKeys,
  readQueueMemory,
  readQueueStats,
  readTenantAccounts,
  type ArtifactStore,
  type Logger,
  type RetentionPolicy,
  DEFAULT_HALF_LIFE_MS,
  DEFAULT_LOG_GRACE_MS,
  DEFAULT_RETENTION,
  DEFAULT_PRIORITY,
} from '@gpufleet/core';
import { DEFAULT_LIMITS, type ApiContext, type ApiLimits, type OutputDelivery } from './app-context.js';
import type { ApiKeyring } from './auth/api-keys.js';
import { installAuth } from './auth/auth-hook.js';
import { TenantPolicy } from './auth/tenant-settings.js';
import { QueueDirectory } from './fleet/queue-directory.js';
import { FeedHub } from './follow/stream-feed.js';
import { dashboardRoot, registerDashboard } from './http/dashboard.js';
import { installErrorHandling } from './http/error-handler.js';
import { registerOpenApi } from './http/openapi.js';
import { RequestLog } from './http/request-log.js';
import { validatorCompiler } from './http/validator.js';
import { ApiMetrics } from './metrics/api-metrics.js';
import { QueueHistory } from './metrics/queue-history.js';
import { TaskMetricsFollower } from './metrics/task-metrics-follower.js';
import { adminGcRoutes } from './routes/admin-gc.js';
import { downloadLinkRoutes } from './routes/download-links.js';
import { downloadRoutes } from './routes/downloads.js';
import { fleetRoutes } from './routes/fleet.js';
import { healthRoutes } from './routes/health.js';
import { meRoutes } from './routes/me.js';
import { metricsRoutes } from './routes/metrics.js';
import { queueHistoryRoutes } from './routes/queue-history.js';
import { taskCancelRoutes } from './routes/task-cancel.js';
import { taskEventRoutes } from './routes/task-events.js';
import { taskLogRoutes } from './routes/task-logs.js';
import { taskOutputRoutes } from './routes/task-outputs.js';
import { taskPriorityRoutes } from './routes/task-priority.js';
import { taskResubmitRoutes } from './routes/task-resubmit.js';
import { taskCreateRoutes } from './routes/tasks-create.js';
import { taskReadRoutes } from './routes/tasks-read.js';
import { trackerDrainRoutes } from './routes/tracker-drains.js';
import { QueuePositions } from './tasks/queue-positions.js';
import { TaskFinder } from './tasks/task-finder.js';

export interface ApiDeps {
  /** The request connection: fails fast (core's `connectRedis` without `blocking`). */
  redis: Redis;
  /** Opens a blocking connection for followers (core's `connectRedis(url, { blocking: true })`). */
  connectBlocking: () => Redis;
  store: ArtifactStore;
  logger: Logger;
  keyring: ApiKeyring;
  /** Each tenant's settings (quotas); default: no limits. */
  tenants?: TenantPolicy;
  /** The priority of a task whose spec gives none, per queue; default DEFAULT_PRIORITY everywhere. */
  defaultPriority?: (queue: string) => number;
  /** The fair-share half-life written with every task enqueued; default core's DEFAULT_HALF_LIFE_MS. */
  fairShareHalfLifeMs?: number;
  /** How long finished tasks stay in Redis (POST /v1/admin/gc); default core's DEFAULT_RETENTION. */
  retention?: RetentionPolicy;
  /** How long a task's live log stream stays once the task ended; default DEFAULT_LOG_GRACE_MS. */
  logGraceMs?: number;
  /** Key prefix of the fleet; default `gf`. */
  prefix?: string;
  now?: () => number;
  limits?: Partial<ApiLimits>;
  outputDelivery?: OutputDelivery;
  /** How long a presigned output URL works (redirect delivery); default 15 minutes. */
  presignExpiresMs?: number;
  /** Follow the events streams for the task metrics (default true). */
  followTaskMetrics?: boolean;
  /** How often each queue's GPUs in use are sampled for its history (default 10 s; 0: not). */
  historySampleMs?: number;
  /** The built dashboard's folder, served under `/`; default packages/dashboard/dist when built. */
  dashboardRoot?: string | null;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const now = deps.now ?? Date.now;
  const prefix = deps.prefix ?? 'gf';
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const queues = new QueueDirectory(deps.redis, prefix, now);
  const ctx: ApiContext = {
    redis: deps.redis,
    store: deps.store,
    prefix,
    now,
    logger: deps.logger,
    limits,
    tenants: deps.tenants ?? new TenantPolicy(),
    defaultPriority: deps.defaultPriority ?? (() => DEFAULT_PRIORITY),
    fairShareHalfLifeMs: deps.fairShareHalfLifeMs ?? DEFAULT_HALF_LIFE_MS,
    retention: deps.retention ?? DEFAULT_RETENTION,
    logGraceMs: deps.logGraceMs ?? DEFAULT_LOG_GRACE_MS,
    outputDelivery: deps.outputDelivery ?? 'stream',
    presignExpiresMs: deps.presignExpiresMs ?? 15 * 60_000,
    queues,
    finder: new TaskFinder(deps.redis, prefix, queues),
    positions: new QueuePositions(deps.redis, now),
    feeds: new FeedHub({ connect: deps.connectBlocking, logger: deps.logger }),
    history: new QueueHistory({
      redis: deps.redis,
      prefix,
      queues,
      logger: deps.logger,
      now,
      sampleMs: deps.historySampleMs,
    }),
    metrics: new ApiMetrics(
      async () =>
        Promise.all(
          (await queues.discovered()).map(async (q) => {
            const keys = queueKeys(prefix, q);
            const [stats, tenants, memory, trackers] = await Promise.all([
              readQueueStats(deps.redis, keys),
              readTenantAccounts(deps.redis, keys),
              readQueueMemory(deps.redis, keys),
              listLiveTrackers(deps.redis, keys, now()),
            ]);
            return { ...stats, tenants, memory, trackers };
          }),
        ),
      now,
    ),
  };

  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance's logger type the default one.
    loggerInstance: deps.logger as FastifyBaseLogger,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: limits.maxJsonBytes,
    forceCloseConnections: true,
    logController: new RequestLog(),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.decorateRequest('taskId', null);
  installErrorHandling(app);
  // Callback-style hooks on the hot path: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.requestDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
  await app.register(multipart, { limits: { fileSize: limits.maxUploadBytes } });
  await registerOpenApi(app);
  await registerDashboard(app, deps.dashboardRoot === undefined ? dashboardRoot() : deps.dashboardRoot);
  await app.register(healthRoutes, { ctx });
  await app.register(metricsRoutes, { ctx });
  await app.register(
    async (v1) => {
      installAuth(v1, deps.keyring);
      await v1.register(taskCreateRoutes, { ctx });
      await v1.register(taskReadRoutes, { ctx });
      await v1.register(taskEventRoutes, { ctx });
      await v1.register(taskLogRoutes, { ctx });
      await v1.register(taskOutputRoutes, { ctx });
      await v1.register(downloadLinkRoutes, { ctx });
      await v1.register(taskCancelRoutes, { ctx });
      await v1.register(taskPriorityRoutes, { ctx });
      await v1.register(taskResubmitRoutes, { ctx });
      await v1.register(fleetRoutes, { ctx });
      await v1.register(queueHistoryRoutes, { ctx });
      await v1.register(trackerDrainRoutes, { ctx });
      await v1.register(adminGcRoutes, { ctx });
      await v1.register(meRoutes, { ctx });
    },
    { prefix: '/v1' },
  );
  // No key: the link's token is the credential (routes/downloads.ts).
  await app.register(downloadRoutes, { ctx, prefix: '/v1' });

  const follower = deps.followTaskMetrics === false ? null : new TaskMetricsFollower(ctx);
  app.addHook('onReady', async () => {
    await follower?.start();
    if (follower) ctx.history.start();
  });
  app.addHook('onClose', async () => {
    await follower?.stop();
    await ctx.history.stop();
    await ctx.feeds.close();
  });
  return app;
}
