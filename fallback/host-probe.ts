/**
 * What the simulator backend reports about the simulated system: the kernel,
 * libc, fields, auxv and errno table of the machine, the calling thread's
 * rseq area (readField, areaSource), the possible CPUs, and the selftest on
 * the model with its verdict.
 *
 * - possibleCpus(): the simulated machine's CPUs, 0..cpus-1.
 */
import type { AreaSource, Backend, ThreadField } from '../src/contract/backend.js';
import { FIELD_OFFSET } from '../src/contract/backend.js';
import type { AuxvEntry, ErrnoTable, FieldAvailability, KernelInfo, LibcInfo, SelftestChecks } from '../src/contract/types.js';
import { simulatedSelftest } from './kernel/selftest.js';
import type { SimulatorHost } from './host-options.js';
import type { HostThread } from './host-thread.js';

/** The backend's probe, area and selftest methods. */
export type HostProbe = Pick<
  Backend,
  'kernel' | 'libc' | 'fields' | 'auxv' | 'readField' | 'areaSource' | 'errnoTable' | 'possibleCpus' | 'selftest' | 'selftestVerdict'
>;

export function hostProbe(host: SimulatorHost, thread: HostThread): HostProbe {
  const { arch, cpus, machine } = host;
  const { ensureThread, requireRegistration } = thread;
  let selftestVerdict: 'ok' | 'broken' | null = null;

  return {
    kernel(): KernelInfo {
      return machine.kernelInfo(ensureThread());
    },

    libc(): LibcInfo {
      ensureThread();
      return machine.libcInfo();
    },

    fields(): FieldAvailability {
      return machine.fields();
    },

    auxv(): AuxvEntry[] {
      return machine.auxv();
    },

    readField(field: ThreadField): number {
      const t = ensureThread();
      const reg = requireRegistration(t);
      return machine.memory.readU32(reg.addr + BigInt(FIELD_OFFSET[field]));
    },

    areaSource(): AreaSource {
      const t = ensureThread();
      const reg = t.registration;
      if (!reg) {
        return {
          kind: 'calls',
          access: 'none',
          byteLength: 0,
          reason: 'the calling thread holds no rseq registration',
          read(): number {
            throw new Error('rseq (simulator): the calling thread holds no rseq registration');
          },
        };
      }
      return {
        kind: 'buffer',
        access: 'simulated-memory',
        buffer: machine.memory.buffer,
        byteOffset: machine.memory.offsetOf(reg.addr, reg.len),
        byteLength: reg.len,
      };
    },

    errnoTable(): ErrnoTable {
      return machine.errnoTable();
    },

    possibleCpus(): number[] {
      return Array.from({ length: cpus }, (_, i) => i);
    },

    // The selftest on the model (fallback/kernel/selftest.ts): its own
    // simulated machine with this backend's profiles, arch and CPUs, so this
    // thread's simulated state is untouched. Deterministic; the budget is
    // not needed (the model runs a fixed number of steps).
    selftest(_budgetMs: number): { ms: number; checks: SelftestChecks } {
      const r = simulatedSelftest({ kernel: machine.profile, libc: machine.libcProfile, arch, cpus });
      const c = r.checks;
      const broken = [c.sameCpu, c.migration, c.signal, c.ids].some((x) => x.status === 'broken');
      if (broken) selftestVerdict = 'broken';
      else if (c.sameCpu.status === 'ok') selftestVerdict = 'ok';
      return r;
    },
    selftestVerdict(): 'ok' | 'broken' | null {
      return selftestVerdict;
    },
  };
}
