/**
 * Backend selection: RSEQ_BACKEND=auto|native|simulator (default auto).
 *
 * auto: native where the addon loads and rseq works on this thread, otherwise
 * the simulator, with `fallbackReason` saying exactly why. native: the addon or
 * an error carrying that reason. simulator: the simulator.
 */
import type { Backend } from './contract/backend.js';
import { RseqError } from './contract/errors.js';
import { kernelInfo, loadNative } from './native/backend.js';
import type { KernelInfo, LibcInfo } from './contract/types.js';
import { createSimulator } from './simulator-loader.js';

export type BackendChoice = 'auto' | 'native' | 'simulator';

export interface Selection {
  backend: Backend;
  fallbackReason: string | null;
  /** `file`: the addon that loaded, relative to the package (a prebuild or build/Release/rseq.node), or an RSEQ_ADDON path. */
  addon: { loaded: boolean; error: string | null; file: string | null };
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
 * The simulator (loaded now, on its first use), with the kernel and libc
 * profiles named by RSEQ_SIM_KERNEL (a release such as `6.3` or `7.0`) and
 * RSEQ_SIM_LIBC (such as `glibc-2.40`, `musl`) when set; otherwise its
 * documented defaults.
 */
function simulator(): Backend {
  const kernel = process.env.RSEQ_SIM_KERNEL?.trim() || undefined;
  const libc = process.env.RSEQ_SIM_LIBC?.trim() || undefined;
  return createSimulator({ kernel, libc });
}

/** The code of the warning below; `node --disable-warning=RSEQ_SIMULATED` hides it too. */
export const SIMULATED_WARNING = 'RSEQ_SIMULATED';

let warned = false;

/**
 * Where native rseq could run (Linux on x64 or arm64) but the simulator was
 * chosen for want of it, one process warning per thread, at its first use,
 * naming the cause. RSEQ_BACKEND=simulator (a choice) and
 * RSEQ_SIMULATOR_WARNING=0 silence it.
 */
function warnSimulated(reason: string): void {
  if (warned || process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return;
  if (process.env.RSEQ_SIMULATOR_WARNING?.trim() === '0') return;
  warned = true;
  process.emitWarning(
    `rseq runs on its simulator, not the kernel's rseq: ${reason}. Set RSEQ_SIMULATOR_WARNING=0 (or RSEQ_BACKEND=simulator) to silence this.`,
    { code: SIMULATED_WARNING, detail: 'Every result is still exact, but per-CPU operations are far slower than native ones. `npx rseq probe` shows the same reason.' },
  );
}

export function selectBackend(value: string | undefined): Selection {
  const choice = parseChoice(value);
  if (choice === 'simulator') {
    return {
      backend: simulator(),
      fallbackReason: 'RSEQ_BACKEND=simulator chose the simulator',
      addon: { loaded: false, error: null, file: null },
      host: null,
    };
  }
  const native = loadNative();
  if (native.ok) {
    return { backend: native.backend, fallbackReason: null, addon: { loaded: true, error: null, file: native.addonFile }, host: null };
  }
  if (choice === 'native') {
    throw new RseqError('ERR_RSEQ_NATIVE_UNAVAILABLE', `rseq: RSEQ_BACKEND=native, but the native backend cannot work here: ${native.reason}`);
  }
  const binding = native.binding;
  warnSimulated(native.reason);
  return {
    backend: simulator(),
    fallbackReason: native.reason,
    addon: { loaded: native.addonLoaded, error: native.addonError, file: native.addonFile },
    host: binding ? { kernel: kernelInfo(binding.kernel()), libc: binding.libc() } : null,
  };
}
