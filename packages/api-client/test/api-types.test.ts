// The client's types are generated from the API's OpenAPI document (built from its route schemas)
// and core's constants, never written by hand: this regenerates them and fails when the checked-in
// file differs. After an API change: npx vitest run packages/api-client/test/api-types.test.ts -u
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadOpenApiDocument, renderApiTypes } from './helpers/openapi-types.js';

const GENERATED = fileURLToPath(new URL('../src/generated/api-types.ts', import.meta.url));

describe('generated API types', () => {
  it('match the API’s route schemas', async () => {
    const source = await renderApiTypes(await loadOpenApiDocument(), GENERATED);
    expect(source).toContain('export type TaskView = TaskSummary & {');
    await expect(source).toMatchFileSnapshot(GENERATED);
  });
});
