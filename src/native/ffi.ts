/**
 * RSEQ_FFI=1: the per-CPU structures' hot operations through Node's node:ffi
 * instead of N-API (opt-in; native backend only).
 *
 * Node 26's node:ffi calls a C function whose arguments are all f64 as a V8
 * fast API call: about 6 ns for a call that runs an add section, against
 * about 19 ns for the addon's N-API call (bench/analysis/ffi-crossing.cjs).
 * The addon exports such functions (native/region_ffi.h): each takes a bound
 * region's handle (a number that names the region in a process-wide table,
 * checked on every call against the calling thread) and runs the operation on
 * the region's own argument and record memory. A region bound with this
 * opt-in gets add(), push(), pop(), take() and give() (the forms without an
 * argument) through them; push(record), pop(into), pushMany and popMany stay
 * N-API calls. The statuses are the N-API ones, but a committed operation
 * comes back as REGION_OK (0), which the region here turns into undefined.
 *
 * The opt-in also needs node run with --no-concurrent-recompilation. With
 * V8's concurrent compiler on, a thread that exits (a worker, or the main
 * thread at the end of the process) while a background job still optimizes a
 * function calling a node:ffi function can take the whole process down: the
 * job reads the call's signature after Node has freed it at the thread's
 * teardown, and V8 stops on "Check failed: FastApiCallNode::ArityForArgc" or
 * the process gets SIGSEGV. Seen here with Node 26.12.1, the newest release
 * (README, Backend selection, has the figures); with the flag, every
 * optimization runs on the thread itself and none is left at its exit.
 *
 * Where the opt-in cannot work (Node < 26, the flag missing, node:ffi
 * disabled, or refused by the permission model without --allow-ffi, or an
 * addon without the functions), everything stays on N-API and the reason is
 * a process warning (code RSEQ_FFI_UNAVAILABLE), once per process.
 */
import type { BoundRegion, SyscallFailure } from '../contract/backend.js';

/** The first Node.js release whose node:ffi is used. */
export const FFI_MIN_NODE_MAJOR = 26;
/** The warning's code when RSEQ_FFI=1 cannot be honoured. */
export const FFI_WARNING_CODE = 'RSEQ_FFI_UNAVAILABLE';

/** The addon's functions as node:ffi calls them (native/region_ffi.h). */
export interface FfiCalls {
  add(handle: number): number;
  push(handle: number): number;
  pop(handle: number): number;
  take(handle: number): number;
  give(handle: number): number;
  /** 1 when the handle names a live region of the calling thread, else 0. */
  valid(handle: number): number;
}

export type FfiLoad = { ok: true; calls: FfiCalls } | { ok: false; reason: string };

/** The region as the addon binds it (native/region_binding.cc). */
export type NapiRegion = Omit<BoundRegion, 'fence' | 'crossing'> & { readonly handle?: number };

interface FfiModule {
  dlopen(path: string, symbols: Record<string, { arguments: string[]; return: string }>): { lib: unknown; functions: Record<string, (handle: number) => number> };
}

/** Only f64 arguments: node:ffi then calls without its JavaScript wrapper (fast API call). */
const SIGNATURE = { arguments: ['f64'], return: 'i32' };
const SYMBOLS = {
  rseq_ffi_add: SIGNATURE,
  rseq_ffi_push: SIGNATURE,
  rseq_ffi_pop: SIGNATURE,
  rseq_ffi_take: SIGNATURE,
  rseq_ffi_give: SIGNATURE,
  rseq_ffi_valid: SIGNATURE,
};

/** The V8 flag the opt-in needs (see above). */
export const FFI_NEEDS_FLAG = '--no-concurrent-recompilation';

/** True when node's options turn V8's concurrent recompilation off (the last of its forms wins). */
export function concurrentRecompilationOff(execArgv: readonly string[]): boolean {
  let off = false;
  for (const arg of execArgv) {
    const a = arg.replace(/_/g, '-');
    if (a === '--no-concurrent-recompilation' || a === '--noconcurrent-recompilation') off = true;
    else if (a === '--concurrent-recompilation') off = false;
  }
  return off;
}

/** True when the environment opts in (RSEQ_FFI=1). */
export function ffiRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.RSEQ_FFI?.trim() === '1';
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err);
  return typeof e?.code === 'string' ? `${e.code}: ${message}` : String(message);
}

/**
 * Opens the addon at `addonFile` (the file src/native/backend.ts loaded) through
 * node:ffi. Never throws: the calls, or why they cannot be had. The library is
 * never closed: a thread's rseq_cs may point into it (and the addon is linked
 * with -z nodelete anyway).
 */
export function loadFfi(addonFile: string, execArgv: readonly string[] = process.execArgv): FfiLoad {
  const major = Number(process.versions.node.split('.')[0]);
  if (!(major >= FFI_MIN_NODE_MAJOR)) {
    return { ok: false, reason: `node:ffi needs Node.js ${FFI_MIN_NODE_MAJOR} or later; this is ${process.version}` };
  }
  if (!concurrentRecompilationOff(execArgv)) {
    return {
      ok: false,
      reason:
        `with V8's concurrent compiler on, a thread that exits while V8 still optimizes a call to a node:ffi function can crash the process ` +
        `(seen with Node 26.12.1: "Check failed: FastApiCallNode::ArityForArgc", or SIGSEGV); run node with ${FFI_NEEDS_FLAG} to use node:ffi`,
    };
  }
  let ffi: FfiModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ffi = require('node:ffi') as FfiModule;
  } catch (err) {
    return { ok: false, reason: `node:ffi did not load (${describe(err)}); run node with --experimental-ffi where the release needs it` };
  }
  let functions: Record<string, (handle: number) => number>;
  try {
    functions = ffi.dlopen(addonFile, SYMBOLS).functions;
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    if (code === 'ERR_ACCESS_DENIED') {
      return { ok: false, reason: `the permission model refuses node:ffi (${describe(err)}); run node with --allow-ffi` };
    }
    return { ok: false, reason: `node:ffi could not open the addon's functions in ${addonFile} (${describe(err)})` };
  }
  const f = (name: keyof typeof SYMBOLS): ((handle: number) => number) => functions[name]!;
  const calls: FfiCalls = { add: f('rseq_ffi_add'), push: f('rseq_ffi_push'), pop: f('rseq_ffi_pop'), take: f('rseq_ffi_take'), give: f('rseq_ffi_give'), valid: f('rseq_ffi_valid') };
  for (const [name, fn] of Object.entries(calls)) {
    if (typeof fn !== 'function') return { ok: false, reason: `node:ffi gave no function for rseq_ffi_${name} in ${addonFile}` };
  }
  // No handle is 0: a call that answers anything but 0 is not the addon's function.
  if (calls.valid(0) !== 0) return { ok: false, reason: `rseq_ffi_valid(0) in ${addonFile} did not answer 0` };
  return { ok: true, calls };
}

/**
 * The region with add(), push(), pop(), take() and give() through node:ffi.
 * It holds the N-API region's functions, which keep the native region (and
 * so its handle) alive as long as this object is.
 */
export function ffiRegion(region: NapiRegion, calls: FfiCalls, fence: (cpu: number) => SyscallFailure | null): BoundRegion {
  const h = region.handle!;
  const { add, push, pop, take, give } = calls;
  const napiPush = region.push;
  const napiPop = region.pop;
  return {
    crossing: 'ffi',
    handle: h,
    args: region.args,
    record: region.record,
    add() {
      const s = add(h);
      return s === 0 ? undefined : s;
    },
    push(record?: Uint8Array) {
      if (record !== undefined) return napiPush(record);
      const s = push(h);
      return s === 0 ? undefined : s;
    },
    pop(into?: Uint8Array) {
      if (into !== undefined) return napiPop(into);
      const s = pop(h);
      return s === 0 ? undefined : s;
    },
    pushMany: region.pushMany,
    popMany: region.popMany,
    take() {
      const v = take(h);
      if (v < 0) return -v;
      region.args[0] = v;
      return undefined;
    },
    give() {
      const s = give(h);
      return s === 0 ? undefined : s;
    },
    fence,
  };
}

/**
 * Tells the user, once per process, that RSEQ_FFI=1 is not honoured and why.
 * `first()`: true for the first caller in the process (the addon keeps the flag).
 */
export function warnFfiUnavailable(reason: string, first: () => boolean): void {
  if (!first()) return;
  process.emitWarning(`RSEQ_FFI=1, but the per-CPU structures cross into the addon through N-API: ${reason}`, { code: FFI_WARNING_CODE });
}
