/**
 * The native backend: the addon in `native/` behind the Backend interface.
 * `loadNative()` never throws: it returns the backend or the exact reason it
 * cannot be used on this thread.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MEMBARRIER_CMD, RSEQ_AREA } from '../contract/abi.js';
import { REGION_KIND_CODE } from '../contract/backend.js';
import type { SliceCallResult, SliceCalls } from '../contract/backend.js';
import type { AreaSource, Backend, BoundRegion, IndexMode, OpCounts, RegionKind, SyscallFailure, ThreadField } from '../contract/backend.js';
import { errnoInfo } from '../contract/errors.js';
import { ffiRegion, ffiRequested, loadFfi, warnFfiUnavailable, type FfiCalls } from './ffi.js';
import { fieldsFromFeatureSize } from '../contract/fields.js';
import { OP_ARGS, checkIndexMode, checkSectionArgs } from '../contract/op-args.js';
import type { OpName, SectionArgs } from '../contract/sections.js';
import type { NativeBinding, NativeKernel, NativeRegistration, NativeSelftestCheck } from './binding.js';
import type {
  AuxvEntry,
  DebugCounts,
  ErrnoCaseName,
  ErrnoTable,
  FieldAvailability,
  KernelInfo,
  LibcInfo,
  RegistrationInfo,
  SelftestCheck,
  SelftestChecks,
} from '../contract/types.js';
import { ERRNO_CASES } from '../contract/types.js';

/** MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ and its registration command. */
const MEMBARRIER_RSEQ_BITS = MEMBARRIER_CMD.PRIVATE_EXPEDITED_RSEQ | MEMBARRIER_CMD.REGISTER_PRIVATE_EXPEDITED_RSEQ;

/** The package's root directory (holds package.json and build/). */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        const name = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
        if (name === 'rseq') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`rseq: cannot find the package root above ${__dirname}`);
    dir = parent;
  }
}

export const ADDON_RELATIVE_PATH = path.join('build', 'Release', 'rseq.node');

/** The prebuilt addon for this platform, in node-gyp-build's layout (scripts/prebuild.cjs makes them). */
export function prebuildRelativePath(arch: string = process.arch): string {
  return path.join('prebuilds', `linux-${arch}`, 'node.napi.glibc.node');
}

/** Why `npm install` did not build the addon, if it tried and said so. */
function buildFailureReason(root: string): string | null {
  try {
    const text = fs.readFileSync(path.join(root, 'build', 'addon-build-error.txt'), 'utf8').trim();
    return text.split('\n')[0] ?? null;
  } catch {
    return null;
  }
}

/** The first line of a load error. */
function firstLine(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? String(err)) : String(err);
}

type AddonLoad = { ok: true; binding: NativeBinding; file: string; relative: string } | { ok: false; reason: string };

/**
 * The addon, in this order: RSEQ_ADDON when set (that file only); else a local
 * source build (build/Release/rseq.node) when there is one; else the prebuild
 * for linux-<arch>. The reason when none loads names each one tried.
 */
function loadAddon(root: string): AddonLoad {
  // RSEQ_ADDON names another build of the addon (cmake-js output, a debug build).
  const chosen = process.env.RSEQ_ADDON?.trim();
  if (chosen) {
    const file = path.resolve(chosen);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return { ok: true, binding: require(file) as NativeBinding, file, relative: file };
    } catch (err) {
      return { ok: false, reason: `the native addon could not be loaded from ${file}: ${firstLine(err)} (RSEQ_ADDON names it)` };
    }
  }
  const tried: string[] = [];
  for (const relative of [ADDON_RELATIVE_PATH, prebuildRelativePath()]) {
    const file = path.join(root, relative);
    if (!fs.existsSync(file)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return { ok: true, binding: require(file) as NativeBinding, file, relative };
    } catch (err) {
      tried.push(`${relative} did not load: ${firstLine(err)}`);
    }
  }
  const built = buildFailureReason(root);
  if (built !== null) tried.unshift(`the source build failed: ${built}`);
  if (!fs.existsSync(path.join(root, prebuildRelativePath()))) {
    tried.push(`the package has no prebuilt addon for linux-${process.arch}${built === null ? ' and no source build (npm rebuild rseq, or RSEQ_BUILD_FROM_SOURCE=1 at install, builds one)' : ''}`);
  }
  return { ok: false, reason: `no native addon could be used: ${tried.join('; ')}` };
}

/** Runs a binding call that throws an Error with `.code` (errno name) and `.errno` on a failed system call. */
function syscallFailure(call: () => void): SyscallFailure | null {
  try {
    call();
    return null;
  } catch (err) {
    const e = err as { code?: unknown; errno?: unknown };
    if (typeof e.code === 'string' && typeof e.errno === 'number') return { errno: e.code, code: e.errno };
    throw err;
  }
}

/** A binding call answering a number, or the errno it threw (see syscallFailure). */
function sliceResult(call: () => number): SliceCallResult {
  let value = 0;
  const failure = syscallFailure(() => {
    value = call();
  });
  return { value: failure === null ? value : 0, failure };
}

/** The time-slice extension's calls over the addon (native/slice_binding.cc), one object per binding. */
const SLICE_CALLS = new WeakMap<NativeBinding, SliceCalls>();
function nativeSlice(binding: NativeBinding): SliceCalls {
  let calls = SLICE_CALLS.get(binding);
  if (calls === undefined) {
    calls = {
      prctl: (op) =>
        op === 'get'
          ? sliceResult(() => binding.sliceGet())
          : sliceResult(() => {
              binding.sliceSet(op === 'enable');
              return 0;
            }),
      yield: () => sliceResult(() => binding.sliceYield()),
      request: () => syscallFailure(() => binding.sliceRequest()),
      end: () => sliceResult(() => binding.sliceEnd()),
      ctrl: () => binding.sliceCtrl(),
    };
    SLICE_CALLS.set(binding, calls);
  }
  return calls;
}

/** The addon's raw kernel figures as the public KernelInfo (0 from getauxval means absent). */
export function kernelInfo(k: NativeKernel): KernelInfo {
  return {
    release: k.release,
    featureSize: k.featureSize === 0 ? null : k.featureSize,
    align: k.align === 0 ? null : k.align,
    syscall: { available: k.probeErrnoName === 'EINVAL', probeErrno: k.probeErrnoName },
    membarrierRseq: k.membarrierMask >= 0 && (k.membarrierMask & MEMBARRIER_RSEQ_BITS) === MEMBARRIER_RSEQ_BITS,
    membarrierCommands: k.membarrierMask >= 0 ? k.membarrierMask : null,
  };
}

function toRegistration(r: NativeRegistration): RegistrationInfo {
  return {
    owner: r.owner,
    length: r.length === 0 ? null : r.length,
    signature: r.signature === 0 ? null : r.signature,
    error: r.errno === 0 ? null : errnoInfo(r.op, r.errnoName, r.errno),
  };
}

class NativeBackend implements Backend {
  readonly kind = 'native' as const;
  readonly arch: string;
  readonly #binding: NativeBinding;
  readonly #kernel: KernelInfo;
  readonly #fields: FieldAvailability;
  /** The rseq_ffi_* functions through node:ffi (RSEQ_FFI=1), or null: N-API. */
  readonly #ffi: FfiCalls | null = null;

  /** `file`: the addon's path, which node:ffi opens again for RSEQ_FFI=1. */
  constructor(binding: NativeBinding, file: string) {
    this.#binding = binding;
    this.arch = binding.arch;
    this.#kernel = kernelInfo(binding.kernel());
    this.#fields = fieldsFromFeatureSize(this.#kernel.featureSize);
    if (ffiRequested()) {
      const ffi = loadFfi(file);
      if (ffi.ok) this.#ffi = ffi.calls;
      else warnFfiUnavailable(ffi.reason, () => binding.ffiWarnOnce?.() ?? true);
    }
  }

  kernel(): KernelInfo {
    return { ...this.#kernel, syscall: { ...this.#kernel.syscall } };
  }
  libc(): LibcInfo {
    return this.#binding.libc();
  }
  registration(): RegistrationInfo {
    return toRegistration(this.#binding.registration());
  }
  fields(): FieldAvailability {
    return { ...this.#fields };
  }
  auxv(): AuxvEntry[] {
    return this.#binding.auxv().map((e) => ({ type: e.type, name: e.name, value: e.value }));
  }
  readField(field: ThreadField): number {
    return this.#binding[field]();
  }
  areaSource(): AreaSource {
    const buf = this.#binding.areaBuffer();
    const length = this.registration().length ?? RSEQ_AREA.size;
    if (typeof buf === 'string') {
      const binding = this.#binding;
      return { kind: 'calls', access: 'native-calls', byteLength: length, reason: buf, read: (f) => binding[f]() };
    }
    return { kind: 'buffer', access: 'external-buffer', buffer: buf, byteOffset: 0, byteLength: buf.byteLength };
  }
  errnoTable(): ErrnoTable {
    const t = this.#binding.errnoTable();
    return {
      ownerAtStart: t.ownerAtStart,
      signature: t.signature,
      cases: t.cases.map((c) => {
        if (!(ERRNO_CASES as readonly string[]).includes(c.case)) throw new Error(`rseq: the addon ran an unknown case ${c.case}`);
        return { case: c.case as ErrnoCaseName, ret: c.ret, errno: c.errno === 0 ? null : c.errnoName };
      }),
    };
  }
  setAffinity(cpus: readonly number[]): SyscallFailure | null {
    return syscallFailure(() => this.#binding.setAffinity([...cpus]));
  }
  getAffinity(): number[] {
    return this.#binding.getAffinity();
  }
  schedGetcpu(): number {
    return this.#binding.schedGetcpu();
  }
  debugCounts(): DebugCounts {
    return this.#binding.debugCounts();
  }

  // Per-CPU critical sections: the named arguments in the order of the addon's op* functions, which
  // check every argument with the messages of src/contract/op-args.ts; the mode is the addon's number
  // for it (ID_MODE), checked here. A call that is no section, or whose arguments are no object, is
  // checked here too.
  section<N extends OpName>(op: N, args: SectionArgs[N]): number {
    const b = this.#binding;
    if (typeof args !== 'object' || args === null || !Object.hasOwn(OP_ARGS, op)) {
      checkSectionArgs(op, args);
    }
    const mode = checkIndexMode(op, (args as SectionArgs[OpName]).mode);
    switch (op) {
      case 'add': {
        const x = args as SectionArgs['add'];
        return b.opAdd(mode, x.id, x.words, x.index, x.count);
      }
      case 'storeIfEqual': {
        const x = args as SectionArgs['storeIfEqual'];
        return b.opStoreIfEqual(mode, x.id, x.words, x.index, x.expect, x.newv);
      }
      case 'doubleCompareStore': {
        const x = args as SectionArgs['doubleCompareStore'];
        return b.opDoubleCompareStore(mode, x.id, x.words, x.index, x.expect, x.index2, x.expect2, x.newv);
      }
      case 'speculativeStoreCommit': {
        const x = args as SectionArgs['speculativeStoreCommit'];
        return b.opSpeculativeStoreCommit(mode, x.id, x.words, x.index, x.expect, x.index2, x.newv2, x.newv, x.release);
      }
      case 'copyCommit': {
        const x = args as SectionArgs['copyCommit'];
        return b.opCopyCommit(mode, x.id, x.words, x.index, x.expect, x.dst, x.dstOffset, x.src, x.srcOffset, x.length, x.newv, x.release);
      }
      default: {
        const x = args as SectionArgs['listPop'];
        return b.opListPop(mode, x.id, x.words, x.head, x.next, x.count, x.empty);
      }
    }
  }
  currentId(mode: IndexMode): number {
    return this.#binding.currentId(checkIndexMode('currentId', mode));
  }
  fence(cpu: number): SyscallFailure | null {
    return syscallFailure(() => this.#binding.fence(cpu));
  }
  bindRegion(words: BigInt64Array, kind: RegionKind): BoundRegion {
    const region = this.#binding.bindRegion(words, REGION_KIND_CODE[kind]);
    const fence = (cpu: number): SyscallFailure | null => this.fence(cpu);
    // A region the addon's handle table had no room for stays on N-API.
    if (this.#ffi !== null && region.handle !== undefined && region.handle >= 0) return ffiRegion(region, this.#ffi, fence);
    return Object.assign(region, { fence, crossing: 'napi' as const });
  }
  opCounts(): OpCounts {
    return this.#binding.opCounts();
  }
  possibleCpus(): number[] {
    return this.#binding.possibleCpus();
  }
  get slice(): SliceCalls {
    return nativeSlice(this.#binding);
  }
  selftest(budgetMs: number): { ms: number; checks: SelftestChecks } {
    const r = this.#binding.selftest(budgetMs);
    const check = (c: NativeSelftestCheck): SelftestCheck => ({ ...c, reason: c.reason === '' ? null : c.reason, cpus: [...c.cpus] });
    return { ms: r.ms, checks: { sameCpu: check(r.checks.sameCpu), migration: check(r.checks.migration), signal: check(r.checks.signal), ids: check(r.checks.ids) } };
  }
  selftestVerdict(): 'ok' | 'broken' | null {
    const v = this.#binding.selftestVerdict();
    return v === 1 ? 'ok' : v === 2 ? 'broken' : null;
  }
}

export type NativeLoad =
  | { ok: true; backend: Backend; addonError: null; addonFile: string }
  | { ok: false; reason: string; addonLoaded: boolean; addonError: string | null; addonFile: string | null; binding: NativeBinding | null };

/**
 * Load the addon and make sure rseq works on the calling thread: the syscall
 * exists and the thread has (or now gets) a registration.
 */
export function loadNative(): NativeLoad {
  if (process.platform !== 'linux') {
    return { ok: false, reason: `rseq is a Linux system call; this platform is ${process.platform}`, addonLoaded: false, addonError: null, addonFile: null, binding: null };
  }
  if (process.arch !== 'x64' && process.arch !== 'arm64') {
    return {
      ok: false,
      reason: `the addon has critical sections for x86_64 and aarch64 only; this architecture is ${process.arch}`,
      addonLoaded: false,
      addonError: null,
      addonFile: null,
      binding: null,
    };
  }
  const addon = loadAddon(packageRoot());
  if (!addon.ok) return { ok: false, reason: addon.reason, addonLoaded: false, addonError: addon.reason, addonFile: null, binding: null };
  const { binding, file, relative: addonFile } = addon;
  const k = binding.kernel();
  if (k.probeErrnoName !== 'EINVAL') {
    const info = errnoInfo('rseq-probe', k.probeErrnoName, k.probeErrno);
    return { ok: false, reason: info.message, addonLoaded: true, addonError: null, addonFile, binding };
  }
  const reg = binding.acquire();
  if (reg.errno !== 0) {
    const info = errnoInfo(reg.op, reg.errnoName, reg.errno);
    return { ok: false, reason: info.message, addonLoaded: true, addonError: null, addonFile, binding };
  }
  if (reg.owner === 'none') {
    return { ok: false, reason: 'the addon reported no rseq registration for this thread', addonLoaded: true, addonError: null, addonFile, binding };
  }
  return { ok: true, backend: new NativeBackend(binding, file), addonError: null, addonFile };
}
