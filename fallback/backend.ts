/**
 * The simulator backend: the `Backend` interface of src/contract/backend.ts over the
 * simulated kernel, used where the native addon cannot be loaded.
 * createSimulatorBackend puts the backend object together from its parts,
 * each with its part of the host-fallback policy (documented defaults):
 *   host-options.ts    options, RSEQ_SIM_* environment variables, host
 *                      defaults, and the simulated machine built from them
 *   host-thread.ts     which simulated thread each JavaScript thread is, its
 *                      CPU (affinity), its registration and references
 *   host-sections.ts   per-CPU critical sections on the caller's typed arrays
 *                      (section, bindRegion, currentId, fence, opCounts)
 *   host-slice.ts      the time-slice extension (Backend.slice)
 *   host-probe.ts      kernel, libc, fields, auxv, errno table, the area,
 *                      possibleCpus, the selftest on the model
 * This module re-exports the options and host defaults of host-options.ts,
 * so importers keep importing them from here.
 *
 * Per-isolate state: worker threads are separate V8 isolates, so each one
 * gets its own simulated machine whose thread set is "this real thread";
 * debugCounts() is process-wide (shared-counts.ts). The cross-isolate state
 * is the mm_cid pool (shared-mmcid.ts), so live workers get distinct mm_cid
 * values below min(CPUs, live threads), and the section locks and fence
 * generations (shared-sections.ts). Loading this module creates none of
 * it: the first backend an isolate creates adopts what the isolate inherited
 * through worker_threads environment data, or creates and publishes it for
 * the workers started from then on. A structure's own operations serialise on
 * the locks in its buffer, so they are exact whatever the order in which
 * threads loaded the package; for the rest (distinct mm_cid values, the
 * process-wide counts), create the structures (or make any rseq call) in the
 * main thread before starting the workers that share them.
 */
import type { Backend } from '../src/contract/backend.js';
import type { RegistrationInfo } from '../src/contract/types.js';
import type { Machine } from './kernel/kernel.js';
import type { Arch } from './kernel/profiles.js';
import type { SimThread } from './kernel/thread.js';
import { simulatorHost, type SimulatorBackendOptions } from './host-options.js';
import { hostProbe } from './host-probe.js';
import { hostSections } from './host-sections.js';
import { hostSlice } from './host-slice.js';
import { hostThread } from './host-thread.js';
import { releaseOnExit } from './shared-counts.js';

export { abortRateFromEnv, DEFAULT_KERNEL, DEFAULT_LIBC, hostArch, simArchFromEnv } from './host-options.js';
export type { SimulatorBackendOptions } from './host-options.js';

/** The simulator backend, with access to its model for tests and crosschecks. */
export interface SimulatorBackend extends Backend {
  readonly kind: 'simulator';
  readonly arch: Arch;
  /** The simulated machine behind this backend (this isolate's). */
  readonly machine: Machine;
  /** The simulated thread of the calling JavaScript thread (created on first use). */
  currentThread(): SimThread;
  /** Take one more reference on the calling thread's simulated registration (the model's reference count). */
  acquire(): RegistrationInfo;
  /** Drop one reference; returns the references the thread still holds. */
  release(): number;
}

export function createSimulatorBackend(options: SimulatorBackendOptions = {}): SimulatorBackend {
  const host = simulatorHost(options);
  const thread = hostThread(host);
  const sections = hostSections(host, thread, () => backend);
  const probe = hostProbe(host, thread);
  const backend: SimulatorBackend = {
    kind: 'simulator',
    arch: host.arch,
    machine: host.machine,
    currentThread: thread.ensureThread,
    kernel: probe.kernel,
    libc: probe.libc,
    registration: thread.registration,
    fields: probe.fields,
    auxv: probe.auxv,
    readField: probe.readField,
    areaSource: probe.areaSource,
    errnoTable: probe.errnoTable,
    setAffinity: thread.setAffinity,
    getAffinity: thread.getAffinity,
    schedGetcpu: thread.schedGetcpu,
    debugCounts: thread.debugCounts,
    acquire: thread.acquire,
    section: sections.section,
    bindRegion: sections.bindRegion,
    currentId: sections.currentId,
    fence: sections.fence,
    opCounts: sections.opCounts,
    possibleCpus: probe.possibleCpus,
    slice: hostSlice(host, thread),
    release: thread.release,
    selftest: probe.selftest,
    selftestVerdict: probe.selftestVerdict,
  };
  // A thread's references end with its isolate, as the native addon's do
  // with its environment: a finished worker leaves nothing counted.
  releaseOnExit(() => {
    while (thread.references() > 0) {
      const before = thread.references();
      if (backend.release() >= before) break; // unregister failed: keep what is
    }
  });
  return backend;
}
