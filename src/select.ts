/**
 * Backend selection: RSEQ_BACKEND=auto|native|simulator (default auto).
 *
 * auto: native where the addon loads and rseq works on this thread, otherwise
 * the simulator, with `fallbackReason` saying exactly why. native: the addon or
 * an error carrying that reason. simulator: the simulator.
 */
import { createSimulatorBackend } from '../fallback/backend.js';
import type { Backend } from './backend.js';
import { RseqError } from './errors.js';
import { kernelInfo, loadNative } from './native.js';
import type { KernelInfo, LibcInfo } from './types.js';

export type BackendChoice = 'auto' | 'native' | 'simulator';

export interface Selection {
  backend: Backend;
  fallbackReason: string | null;
  addon: { loaded: boolean; error: string | null };
  /**
   * The real kernel and libc as the addon saw them, when the addon loaded but
   * the simulator was chosen (for example rseq denied by seccomp).
   */
  host: { kernel: KernelInfo; libc: LibcInfo } | null;
}

export function parseChoice(value: string | undefined): BackendChoice {
  const v = (value ?? '').trim();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'native' || v === 'simulator') return v;
  throw new RseqError('ERR_RSEQ_BAD_BACKEND', `RSEQ_BACKEND must be auto, native or simulator, not ${JSON.stringify(value)}`);
}

/**
 * The simulator, with the kernel and libc profiles named by RSEQ_SIM_KERNEL
 * (a release such as `6.3` or `7.0`) and RSEQ_SIM_LIBC (such as `glibc-2.40`,
 * `musl`) when set; otherwise its documented defaults.
 */
function simulator(): Backend {
  const kernel = process.env.RSEQ_SIM_KERNEL?.trim() || undefined;
  const libc = process.env.RSEQ_SIM_LIBC?.trim() || undefined;
  return createSimulatorBackend({ kernel, libc });
}

export function selectBackend(value: string | undefined): Selection {
  const choice = parseChoice(value);
  if (choice === 'simulator') {
    return {
      backend: simulator(),
      fallbackReason: 'RSEQ_BACKEND=simulator chose the simulator',
      addon: { loaded: false, error: null },
      host: null,
    };
  }
  const native = loadNative();
  if (native.ok) {
    return { backend: native.backend, fallbackReason: null, addon: { loaded: true, error: null }, host: null };
  }
  if (choice === 'native') {
    throw new RseqError('ERR_RSEQ_NATIVE_UNAVAILABLE', `rseq: RSEQ_BACKEND=native, but the native backend cannot work here: ${native.reason}`);
  }
  const binding = native.binding;
  return {
    backend: simulator(),
    fallbackReason: native.reason,
    addon: { loaded: native.addonLoaded, error: native.addonError },
    host: binding ? { kernel: kernelInfo(binding.kernel()), libc: binding.libc() } : null,
  };
}
