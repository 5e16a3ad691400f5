/**
 * The simulator backend, loaded on its first use: the package entry imports
 * nothing of fallback/ statically, so a process on the native backend never
 * loads the simulator (nor creates its shared state). The compiled package is
 * CommonJS (the ES module entry points wrap it), where this `require` loads
 * fallback/backend.js from dist/cjs at the moment it is needed.
 */
import type { Backend } from './contract/backend.js';

/** The simulator's kernel and libc profiles (release such as `6.3`, libc such as `glibc-2.40`); undefined: its defaults. */
export interface SimulatorChoice {
  kernel: string | undefined;
  libc: string | undefined;
}

type CreateSimulator = (options: SimulatorChoice) => Backend;

let create: CreateSimulator | undefined;

export function createSimulator(options: SimulatorChoice): Backend {
  create ??= (require('../fallback/backend.js') as { createSimulatorBackend: CreateSimulator }).createSimulatorBackend;
  return create(options);
}
