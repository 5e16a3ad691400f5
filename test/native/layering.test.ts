import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { graph, check } = require('../../scripts/import-graph.cjs') as {
  graph(files?: string[], read?: (f: string) => string): Record<string, string[]>;
  check(g: Record<string, string[]>, entry?: string): string[];
};

describe('layers of the TypeScript sources', () => {
  it('the contract is a leaf, the backends are peers above it, and the entry reaches no simulator module', () => {
    const g = graph();
    expect(Object.keys(g).some((f) => f.startsWith('src/contract/'))).toBe(true);
    expect(Object.keys(g).some((f) => f.startsWith('fallback/'))).toBe(true);
    expect(check(g)).toEqual([]);
  });

  it('the check names each broken rule', () => {
    const files: Record<string, string> = {
      'src/index.ts': "import { a } from './select.js';\n",
      'src/select.ts': "import { b } from '../fallback/backend.js';\n",
      'fallback/backend.ts': "import type { C } from '../src/native/backend.js';\n",
      'src/native/backend.ts': "export const x = 1;\n",
      'src/contract/types.ts': "import { d } from '../thread.js';\n",
      'src/thread.ts': "export const d = 1;\n",
    };
    const problems = check(graph(Object.keys(files), (f) => files[f]!));
    expect(problems).toEqual(
      expect.arrayContaining([
        'fallback/backend.ts (simulator) imports src/native/backend.ts (native)',
        'src/contract/types.ts (contract) imports src/thread.ts (api)',
        expect.stringContaining('src/index.ts reaches fallback/backend.ts'),
      ]),
    );
    expect(problems).toHaveLength(3);
  });
});
