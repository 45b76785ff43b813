// Every error code the API can answer is documented in docs/api.md with its HTTP status (this
// test fails when a code is added without its line there), and the OpenAPI document gives every
// route its request and response schemas.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@gpufleet/api';
import { useRedis, useTempDirs } from '@gpufleet/testkit';
import { startTestApi, type TestApi } from './helpers/api.js';

const DOCS = new URL('../../../docs/api.md', import.meta.url);

describe('docs/api.md', () => {
  it('lists every error code with its status', async () => {
    const text = await readFile(DOCS, 'utf8');
    const rows = new Map<string, string>();
    for (const match of text.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm))
      rows.set(match[1] as string, match[2] as string);
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      expect(rows.get(code), `docs/api.md has no row for ${code}`).toBe(String(status));
    }
    expect([...rows.keys()].filter((code) => !(code in ERROR_CODES))).toEqual([]);
  });
});

describe('the OpenAPI document', () => {
  const redis = useRedis();
  const temp = useTempDirs();
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi(redis.server, temp);
  });
  afterAll(() => api.close());

  it('gives every operation its parameters, body and responses, errors included', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json<{
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: Array<{ in: string; name: string }>;
            requestBody?: unknown;
            responses: Record<string, unknown>;
            security?: unknown[];
          }
        >
      >;
    }>();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        const codes = Object.keys(op.responses);
        expect(
          codes.some((c) => /^2\d\d$/.test(c)),
          where,
        ).toBe(true);
        expect(codes, where).toEqual(expect.arrayContaining(['4XX', '5XX']));
        for (const name of path.match(/\{([^}]+)\}/g) ?? []) {
          expect(
            op.parameters?.some((p) => p.in === 'path' && `{${p.name}}` === name),
            `${where} ${name}`,
          ).toBe(true);
        }
        if (method === 'post' && path === '/v1/tasks') expect(op.requestBody, where).toBeDefined();
        if (!path.startsWith('/v1/')) expect(op.security, where).toEqual([]);
      }
    }
  });
});
