/**
 * The local fleet's API: built in-process (buildApp + listen) on the fleet's Redis and artifact
 * store once its Redis connection is ready, with a token generated at each start. The token goes to `<dataDir>/local-token` and the
 * URL to `<dataDir>/local-api.json` (both mode 0600), where the `gpufleet` command finds them with
 * no configuration (its `local` profile). Port: GPUFLEET_API_PORT, else 8080, else a free one.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ApiKeyring,
  buildApp,
  enableAutoPipelining,
  loadApiConfig,
  REDIS_COMMAND_TIMEOUT_MS,
  TOKEN_PRINCIPAL,
} from '@gpufleet/api';
import { LOCAL_API_FILE } from '@gpufleet/api-client';
import { connectRedis, openArtifactStore, waitReady, type Logger } from '@gpufleet/core';

export const LOCAL_TOKEN_FILE = 'local-token';
export const DEFAULT_LOCAL_API_PORT = 8080;

export interface LocalApi {
  url: string;
  docsUrl: string;
  token: string;
  tokenFile: string;
  /** The `local-api.json` the CLI reads. */
  profileFile: string;
  close(): Promise<void>;
}

export interface LocalApiOptions {
  env: NodeJS.ProcessEnv;
  dataDir: string;
  redisUrl: string;
  prefix: string;
  artifactStore: string;
  logger: Logger;
  /** Port to listen on; default GPUFLEET_API_PORT, else 8080 (a free port when it is taken). */
  port?: number;
  /** Default GPUs for the CLI's submissions (0 on a CPU-only fleet). */
  gpus: number;
}

async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  await chmod(path, 0o600); // an older file keeps its mode on overwrite
}

interface Listening {
  url: string;
  close(): Promise<void>;
}

async function listen(options: LocalApiOptions, token: string, port: number): Promise<Listening> {
  // The configuration is checked as the API server checks it (GPUFLEET_API_* from the environment).
  const config = loadApiConfig({
    ...options.env,
    REDIS_URL: options.redisUrl,
    GPUFLEET_PREFIX: options.prefix,
    ARTIFACT_STORE: options.artifactStore,
    GPUFLEET_API_TOKEN: token,
    GPUFLEET_API_PORT: String(port),
  });
  const { logger } = options;
  const redis = enableAutoPipelining(
    connectRedis(config.redisUrl, {
      connectionName: 'gpufleet-local:api',
      commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS,
      logger,
    }),
  );
  const store = openArtifactStore(config.artifactStoreSettings);
  const release = async (): Promise<void> => {
    await redis.quit().catch(() => redis.disconnect());
    await store.close();
  };
  try {
    await waitReady(redis);
    const app = await buildApp({
      redis,
      connectBlocking: () =>
        connectRedis(config.redisUrl, { connectionName: 'gpufleet-local:follow', blocking: true, logger }),
      store,
      logger,
      keyring: ApiKeyring.fromSecrets([{ secret: token, ...TOKEN_PRINCIPAL }]),
      prefix: config.prefix,
      limits: { maxUploadBytes: config.maxUploadBytes },
    });
    try {
      const url = await app.listen({ port: config.port, host: config.host });
      return {
        url,
        close: async () => {
          await app.close();
          await release();
        },
      };
    } catch (error) {
      await app.close();
      throw error;
    }
  } catch (error) {
    await release();
    throw error;
  }
}

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const token = `gfl_${randomBytes(24).toString('base64url')}`;
  const asked =
    options.port ?? (options.env.GPUFLEET_API_PORT ? Number(options.env.GPUFLEET_API_PORT) : undefined);
  let server: Listening;
  try {
    server = await listen(options, token, asked ?? DEFAULT_LOCAL_API_PORT);
  } catch (error) {
    if (asked !== undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    server = await listen(options, token, 0); // 8080 is taken: any free port will do
  }
  const url = server.url;
  const docsUrl = `${url}/docs`;
  await mkdir(options.dataDir, { recursive: true });
  const tokenFile = join(options.dataDir, LOCAL_TOKEN_FILE);
  const profileFile = join(options.dataDir, LOCAL_API_FILE);
  await writePrivate(tokenFile, `${token}\n`);
  await writePrivate(
    profileFile,
    `${JSON.stringify({ apiUrl: url, docsUrl, tokenFile, gpus: options.gpus, pid: process.pid }, null, 2)}\n`,
  );
  let closing: Promise<void> | null = null;
  return {
    url,
    docsUrl,
    token,
    tokenFile,
    profileFile,
    close() {
      closing ??= (async () => {
        // Only our own file: another local fleet may have started on this folder since.
        const current = await readFile(profileFile, 'utf8').catch(() => '');
        if (current.includes(`"apiUrl": "${url}"`)) await rm(profileFile, { force: true });
        await server.close();
      })();
      return closing;
    },
  };
}
