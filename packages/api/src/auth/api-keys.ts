/**
 * API keys: bearer secrets, each mapped to a tenant and a role. The keys file stores only the
 * sha256 of each secret (and, optionally, per-tenant settings: `tenants`, tenant-settings.ts). A
 * plain fast hash is right here: secrets are 256 random bits made by `newApiKey`, so there is
 * nothing to brute-force, and a slow hash would cost every request. Lookup is by hash, so
 * comparing secrets never leaks timing about the secret itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Type, type Static } from '@fastify/type-provider-typebox';
import { checkName, ConfigError, schemaIssues, type FieldIssue } from '@gpufleet/core';
import {
  NO_TENANT_LIMITS,
  TenantPolicy,
  tenantIssues,
  TenantsSchema,
  type TenantDefaults,
  type TenantsTable,
} from './tenant-settings.js';

export type Role = 'user' | 'admin';

/** Who a request acts for. */
export interface Principal {
  /** The key's name (for logs; never the secret). */
  keyName: string;
  tenant: string;
  role: Role;
}

export const KeyEntrySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    tenant: Type.String(),
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'hex sha256 of the secret' }),
  },
  { additionalProperties: false },
);
export type KeyEntry = Static<typeof KeyEntrySchema>;

export const KeysFileSchema = Type.Object(
  { keys: Type.Array(KeyEntrySchema), tenants: Type.Optional(TenantsSchema) },
  { additionalProperties: false },
);

/** A keys file as read: its keys and its per-tenant settings (`{}` when it has none). */
export interface KeysFile {
  keys: KeyEntry[];
  tenants: TenantsTable;
}

/** The tenant and role of the key from GPUFLEET_API_TOKEN (a local, single-user fleet). */
export const TOKEN_PRINCIPAL: Principal = { keyName: 'GPUFLEET_API_TOKEN', tenant: 'default', role: 'admin' };

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new secret: `gfk_` and 43 base64url characters (256 random bits). */
export function newApiKey(): string {
  return `gfk_${randomBytes(32).toString('base64url')}`;
}

export class ApiKeyring {
  readonly #byHash = new Map<string, Principal>();

  constructor(entries: ReadonlyArray<{ sha256: string; principal: Principal }>) {
    for (const { sha256, principal } of entries) this.#byHash.set(sha256, Object.freeze({ ...principal }));
  }

  /** A keyring of plain secrets (tests, the single-token mode). */
  static fromSecrets(entries: ReadonlyArray<{ secret: string } & Principal>): ApiKeyring {
    return new ApiKeyring(
      entries.map(({ secret, ...principal }) => ({ sha256: hashApiKey(secret), principal })),
    );
  }

  get size(): number {
    return this.#byHash.size;
  }

  /** The principal of a secret, or null when it is not known. */
  authenticate(secret: string): Principal | null {
    if (secret.length === 0 || secret.length > 512) return null;
    return this.#byHash.get(hashApiKey(secret)) ?? null;
  }
}

/** Reads the keys file's entries; every problem is reported at once (ConfigError). */
export function parseKeysFile(text: string, file: string): KeyEntry[] {
  return readKeysFile(text, file).keys;
}

/** Reads the keys file: its entries and tenant settings; every problem at once (ConfigError). */
export function readKeysFile(text: string, file: string): KeysFile {
  const field = (f: string): string => `GPUFLEET_API_KEYS_FILE (${file}) ${f}`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ field: field(''), reason: `is not JSON: ${(error as Error).message}` }]);
  }
  const issues: FieldIssue[] = schemaIssues(KeysFileSchema, data).map((i) => ({
    ...i,
    field: field(i.field),
  }));
  // The tenants' names against the keys' tenants, reported with the rest even when a shape is wrong.
  const { keys, tenants } = (data ?? {}) as { keys?: unknown; tenants?: unknown };
  if (tenants && typeof tenants === 'object' && !Array.isArray(tenants)) {
    const owners = new Set(
      Array.isArray(keys) ? keys.map((k) => (k as { tenant?: unknown } | null)?.tenant) : [],
    );
    issues.push(...tenantIssues(Object.keys(tenants), owners, field));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const entries = (data as Static<typeof KeysFileSchema>).keys;
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const tenantIssue = checkName(entry.tenant);
    if (tenantIssue) issues.push({ field: field(`keys[${i}].tenant`), reason: tenantIssue });
    if (seen.has(entry.sha256)) issues.push({ field: field(`keys[${i}].sha256`), reason: 'is listed twice' });
    seen.add(entry.sha256);
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return { keys: entries, tenants: (data as Static<typeof KeysFileSchema>).tenants ?? {} };
}

/** The keyring of a keys file and/or a single token (at least one must be given). */
export async function loadKeyring(options: {
  keysFile: string | null;
  token: string | null;
}): Promise<ApiKeyring> {
  return (await loadAccess(options)).keyring;
}

/**
 * The keyring of a keys file and/or a single token (at least one must be given), and the tenants'
 * settings: the keys file's `tenants`, else `defaults` (GPUFLEET_MAX_WAITING_TASKS,
 * GPUFLEET_MAX_RUNNING_GPUS).
 */
export async function loadAccess(options: {
  keysFile: string | null;
  token: string | null;
  defaults?: TenantDefaults;
}): Promise<{ keyring: ApiKeyring; tenants: TenantPolicy }> {
  const entries: Array<{ sha256: string; principal: Principal }> = [];
  let tenants: TenantsTable = {};
  if (options.keysFile !== null) {
    let text: string;
    try {
      text = await readFile(options.keysFile, 'utf8');
    } catch (error) {
      throw new ConfigError([
        { field: 'GPUFLEET_API_KEYS_FILE', reason: `cannot be read: ${(error as Error).message}` },
      ]);
    }
    const file = readKeysFile(text, options.keysFile);
    tenants = file.tenants;
    for (const entry of file.keys) {
      entries.push({
        sha256: entry.sha256,
        principal: { keyName: entry.name, tenant: entry.tenant, role: entry.role },
      });
    }
  }
  if (options.token !== null) entries.push({ sha256: hashApiKey(options.token), principal: TOKEN_PRINCIPAL });
  if (entries.length === 0) {
    throw new ConfigError([
      { field: 'GPUFLEET_API_KEYS_FILE', reason: 'holds no keys, so nobody could use the API' },
    ]);
  }
  return {
    keyring: new ApiKeyring(entries),
    tenants: new TenantPolicy(tenants, options.defaults ?? NO_TENANT_LIMITS),
  };
}
