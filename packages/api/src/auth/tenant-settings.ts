/**
 * Per-tenant settings: the keys file's optional `tenants` object (docs/api.md), one object of
 * settings per tenant, and the defaults from the environment for tenants that set none:
 * `maxWaitingTasks` (the most tasks a tenant may have waiting in one queue), `weight` (its
 * fair-share weight: between tasks of equal priority, a tenant of twice the weight may use twice
 * the GPU time) and `maxRunningGpus` (the most GPUs its running tasks may hold at once in one
 * queue). Quotas are per queue. A new setting is a new field of TenantSettingsSchema, a default in
 * TenantDefaults and a getter of TenantPolicy.
 */
import { Type, type Static } from '@fastify/type-provider-typebox';
import {
  checkName,
  DEFAULT_WEIGHT,
  ISSUE_REASONS,
  type FieldIssue,
  type SchedulingSettings,
} from '@gpufleet/core';

const NON_NEGATIVE = 'must be an integer >= 0';
const POSITIVE = 'must be a number > 0';

const SETTINGS = {
  maxWaitingTasks: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: 'the most tasks the tenant may have waiting (status queued) in one queue',
      [ISSUE_REASONS]: { Integer: NON_NEGATIVE, IntegerMinimum: NON_NEGATIVE },
    }),
  ),
  weight: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      description: `the tenant's fair-share weight; default ${DEFAULT_WEIGHT}`,
      [ISSUE_REASONS]: { Number: POSITIVE, NumberExclusiveMinimum: POSITIVE },
    }),
  ),
  maxRunningGpus: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: 'the most GPUs its running tasks may hold at once in one queue',
      [ISSUE_REASONS]: { Integer: NON_NEGATIVE, IntegerMinimum: NON_NEGATIVE },
    }),
  ),
};

export const TenantSettingsSchema = Type.Object(SETTINGS, {
  additionalProperties: false,
  [ISSUE_REASONS]: {
    ObjectAdditionalProperties: `is not a tenant setting (there are: ${Object.keys(SETTINGS).join(', ')})`,
  },
});
export type TenantSettings = Static<typeof TenantSettingsSchema>;

/** The keys file's `tenants`: tenant → its settings. */
export const TenantsSchema = Type.Record(Type.String(), TenantSettingsSchema);
export type TenantsTable = Record<string, TenantSettings>;

/**
 * What a tenant that sets nothing gets (GPUFLEET_MAX_WAITING_TASKS, GPUFLEET_MAX_RUNNING_GPUS;
 * null or absent: no limit). The weight's default is core's DEFAULT_WEIGHT.
 */
export interface TenantDefaults {
  maxWaitingTasks: number | null;
  maxRunningGpus?: number | null;
}

export const NO_TENANT_LIMITS: Readonly<TenantDefaults> = Object.freeze({
  maxWaitingTasks: null,
  maxRunningGpus: null,
});

/**
 * What the schema cannot say about `tenants` (given its names): each must be a tenant name that
 * some key of the same file belongs to (a setting for nobody is a typo). `field` words a field.
 */
export function tenantIssues(
  tenants: readonly string[],
  keyTenants: ReadonlySet<unknown>,
  field: (path: string) => string,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const tenant of tenants) {
    const nameIssue = checkName(tenant);
    if (nameIssue) issues.push({ field: field(`tenants.${tenant}`), reason: `the tenant name ${nameIssue}` });
    else if (!keyTenants.has(tenant)) {
      issues.push({ field: field(`tenants.${tenant}`), reason: 'no key in the file belongs to this tenant' });
    }
  }
  return issues;
}

/** Each tenant's settings: its own from the keys file, else the defaults. */
export class TenantPolicy {
  readonly #tenants: ReadonlyMap<string, TenantSettings>;
  readonly #defaults: TenantDefaults;

  constructor(tenants: TenantsTable = {}, defaults: TenantDefaults = NO_TENANT_LIMITS) {
    this.#tenants = new Map(Object.entries(tenants).map(([name, settings]) => [name, { ...settings }]));
    this.#defaults = { ...defaults };
  }

  /** The most tasks `tenant` may have waiting in one queue; null: no limit. */
  maxWaitingTasks(tenant: string): number | null {
    return this.#tenants.get(tenant)?.maxWaitingTasks ?? this.#defaults.maxWaitingTasks;
  }

  /** `tenant`'s fair-share weight. */
  weight(tenant: string): number {
    return this.#tenants.get(tenant)?.weight ?? DEFAULT_WEIGHT;
  }

  /** The most GPUs `tenant`'s running tasks may hold at once in one queue; null: no limit. */
  maxRunningGpus(tenant: string): number | null {
    return this.#tenants.get(tenant)?.maxRunningGpus ?? this.#defaults.maxRunningGpus ?? null;
  }

  /** What the scheduler enforces for `tenant` (written with each task it enqueues). */
  scheduling(tenant: string): SchedulingSettings {
    return { weight: this.weight(tenant), maxRunningGpus: this.maxRunningGpus(tenant) };
  }
}
