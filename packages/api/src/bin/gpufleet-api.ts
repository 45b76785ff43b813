#!/usr/bin/env node
/**
 * gpufleet-api: the web API server. Reads `.env` (if present) and the environment (see
 * docs/api.md: Configuration), listens until SIGTERM/SIGINT: the first signal closes gracefully,
 * a second exits at once.
 *
 *   gpufleet-api                                    serve
 *   gpufleet-api keys new --tenant alice [--role admin] [--name laptop]
 *                                                   print a new key and its keys-file entry
 *   gpufleet-api keys hash <secret>                 print the sha256 of an existing key
 *
 * Exit codes: 0 clean stop, 1 could not start (bad configuration...), 2 forced stop.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkName, ConfigError, createLogger } from '@gpufleet/core';
import { hashApiKey, newApiKey } from '../auth/api-keys.js';
import { loadApiConfig } from '../config.js';
import { startApiServer } from '../server.js';

function keysCommand(args: string[]): number {
  const [action, ...rest] = args;
  if (action === 'hash' && rest.length === 1) {
    process.stdout.write(`${hashApiKey(rest[0] as string)}\n`);
    return 0;
  }
  if (action !== 'new') {
    process.stderr.write(
      'usage: gpufleet-api keys new --tenant NAME [--role user|admin] [--name NAME]\n       gpufleet-api keys hash SECRET\n',
    );
    return 1;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      tenant: { type: 'string' },
      role: { type: 'string', default: 'user' },
      name: { type: 'string' },
    },
  });
  const tenant = values.tenant ?? '';
  if (checkName(tenant) !== null || (values.role !== 'user' && values.role !== 'admin')) {
    process.stderr.write(
      'gpufleet-api keys new: --tenant must be a name (letters, digits, . _ -) and --role user or admin\n',
    );
    return 1;
  }
  const secret = newApiKey();
  const entry = {
    name: values.name ?? `${tenant}-${new Date().toISOString().slice(0, 10)}`,
    tenant,
    role: values.role,
    sha256: hashApiKey(secret),
  };
  process.stdout.write(
    `key (give it to the user; it is not stored): ${secret}\nkeys-file entry: ${JSON.stringify(entry)}\n`,
  );
  return 0;
}

async function serve(): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config;
  try {
    config = loadApiConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(
        `gpufleet-api: invalid configuration\n${error.issues.map((i) => `  ${i.field}: ${i.reason}`).join('\n')}\n`,
      );
      return 1;
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, name: 'gpufleet-api' });
  // Signals are handled from here on: one that comes while the start waits for Redis (at most a
  // few seconds) closes the server as soon as it has started.
  let signals = 0;
  let server: Awaited<ReturnType<typeof startApiServer>> | null = null;
  let exitCode: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (exitCode = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      logger.info({ signal }, 'shutting down');
      void server?.close().then(() => exitCode(0));
    } else {
      logger.warn({ signal }, 'second signal: exiting now');
      exitCode(2);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    server = await startApiServer(config, logger);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(
        `gpufleet-api: invalid configuration\n${error.issues.map((i) => `  ${i.field}: ${i.reason}`).join('\n')}\n`,
      );
      return 1;
    }
    logger.fatal({ err: error }, 'the API could not start');
    return 1;
  }
  if (signals === 1) void server.close().then(() => exitCode(0));
  return stopped;
}

const argv = process.argv.slice(2);
const run = argv[0] === 'keys' ? Promise.resolve(keysCommand(argv.slice(1))) : serve();
run.then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `gpufleet-api: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
