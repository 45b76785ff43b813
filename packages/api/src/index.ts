/**
 * @gpufleet/api: the gpufleet web API (Fastify), as a factory and as a server.
 *
 * @example
 * import { artifactStoreSettingsFrom, connectRedis, createLogger, openArtifactStore } from '@gpufleet/core';
 * import { ApiKeyring, buildApp } from '@gpufleet/api';
 *
 * const url = 'redis://127.0.0.1:6379';
 * const app = await buildApp({
 *   redis: connectRedis(url, { commandTimeoutMs: 900 }),
 *   connectBlocking: () => connectRedis(url, { blocking: true }),
 *   store: openArtifactStore(artifactStoreSettingsFrom('./.gpufleet/artifacts', process.cwd())),
 *   logger: createLogger(),
 *   keyring: ApiKeyring.fromSecrets([{ secret: 'a-long-random-key', keyName: 'me', tenant: 'default', role: 'admin' }]),
 * });
 * const res = await app.inject({ url: '/v1/queues', headers: { authorization: 'Bearer a-long-random-key' } });
 * // or, from the environment: await startApiServer(loadApiConfig(), createLogger());
 */
export { buildApp } from './app.js';
export type { ApiDeps } from './app.js';
export { DEFAULT_LIMITS } from './app-context.js';
export type { ApiLimits, OutputDelivery } from './app-context.js';
export {
  ApiKeyring,
  hashApiKey,
  loadAccess,
  loadKeyring,
  newApiKey,
  parseKeysFile,
  readKeysFile,
  TOKEN_PRINCIPAL,
} from './auth/api-keys.js';
export type { KeyEntry, KeysFile, Principal, Role } from './auth/api-keys.js';
export { NO_TENANT_LIMITS, TenantPolicy } from './auth/tenant-settings.js';
export type { TenantDefaults, TenantSettings, TenantsTable } from './auth/tenant-settings.js';
export { API_DEFAULTS, loadApiConfig, parseByteSize } from './config.js';
export type { ApiConfig } from './config.js';
export { ApiError, ERROR_CODES } from './errors.js';
export type { ErrorBody, ErrorCode } from './errors.js';
export { API_VERSION } from './http/openapi.js';
export { enableAutoPipelining } from './redis/auto-pipelining.js';
export { REDIS_COMMAND_TIMEOUT_MS, startApiServer } from './server.js';
export type { ApiServer } from './server.js';
export { priorityByQueue } from './tasks/queue-priorities.js';
export { preemptionLive, reservationOf, WAIT_REASONS, waitReason } from './tasks/wait-reason.js';
export type { WaitFacts, WaitReason } from './tasks/wait-reason.js';
