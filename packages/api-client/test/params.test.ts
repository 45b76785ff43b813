// Parameters from the command line: typed after the executer's schema, JSON for the rest, and the
// cross product of sweeps.
import { describe, expect, it } from 'vitest';
import { UsageError } from '@gpufleet/api-client';
import { coerceParam, parseParams, sweepCombinations } from '../src/cli/params.js';

const schemas = {
  steps: { type: 'integer' },
  label: { type: 'string' },
  fast: { type: 'boolean' },
  args: { type: 'array', items: { type: 'string' } },
  format: { enum: ['csv', 'vtk'] },
};

describe('--param', () => {
  it('types values after the schema', () => {
    expect(
      parseParams(['steps=200', 'label=200', 'fast=true', 'args=["-v","x"]', 'format=csv'], schemas),
    ).toEqual({
      steps: 200,
      label: '200',
      fast: true,
      args: ['-v', 'x'],
      format: 'csv',
    });
  });

  it('reads JSON for names the schema does not know, else a string', () => {
    expect(coerceParam('n', '3', undefined)).toBe(3);
    expect(coerceParam('o', '{"a":1}', undefined)).toEqual({ a: 1 });
    expect(coerceParam('s', 'hello world', undefined)).toBe('hello world');
    expect(coerceParam('e', 'a=b', undefined)).toBe('a=b');
  });

  it('refuses values that do not fit, and assignments without =', () => {
    expect(() => parseParams(['steps=many'], schemas)).toThrow(UsageError);
    expect(() => parseParams(['fast=yes'], schemas)).toThrow(/true or false/);
    expect(() => parseParams(['args=-v'], schemas)).toThrow(/not JSON/);
    expect(() => parseParams(['steps'], schemas)).toThrow(/KEY=VALUE/);
  });
});

describe('--sweep', () => {
  it('gives the cross product, the last sweep varying fastest', () => {
    expect(sweepCombinations(['steps=1,2', 'format=csv,vtk'], schemas)).toEqual([
      { steps: 1, format: 'csv' },
      { steps: 1, format: 'vtk' },
      { steps: 2, format: 'csv' },
      { steps: 2, format: 'vtk' },
    ]);
    expect(sweepCombinations([], schemas)).toEqual([{}]);
    expect(() => sweepCombinations(['steps=1', 'steps=2'], schemas)).toThrow(/twice/);
  });
});
