/**
 * src/simulator-loader.ts under vitest: the tests run the TypeScript sources,
 * where that module's runtime `require` of fallback/backend.js finds no such
 * file, so vitest.config.mts resolves src/select.ts's import of it to this
 * module, which imports the simulator statically. The compiled package keeps
 * the lazy loader (test/native/lazy-simulator.test.ts checks it on dist/).
 */
import { createSimulatorBackend } from '../../fallback/backend.js';
import type { Backend } from '../../src/contract/backend.js';
import type { SimulatorChoice } from '../../src/simulator-loader.js';

export type { SimulatorChoice };

export function createSimulator(options: SimulatorChoice): Backend {
  return createSimulatorBackend(options);
}
