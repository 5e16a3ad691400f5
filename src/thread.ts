/**
 * The calling thread's backend and what is cached about it. Module state is
 * per isolate, so per JavaScript thread: each worker selects its own backend
 * and gets its own rseq area.
 */
import { makeAreaView, type RseqAreaView } from './area.js';
import type { Backend, ThreadField } from './contract/backend.js';
import { fieldUnavailable } from './contract/fields.js';
import { selectBackend, type Selection } from './select.js';
import type { FieldAvailability, ThreadFields } from './contract/types.js';

/** This thread's backend and what is cached about it (module state is per isolate, so per thread). */
export interface ThreadState {
  selection: Selection;
  live: FieldAvailability;
  featureSize: number | null;
  view: RseqAreaView | undefined;
}

let state: ThreadState | undefined;

export function current(): ThreadState {
  if (state === undefined) {
    const selection = selectBackend(process.env.RSEQ_BACKEND);
    const b = selection.backend;
    state = { selection, live: b.fields(), featureSize: b.kernel().featureSize, view: undefined };
  }
  return state;
}

export function backend(): Backend {
  return current().selection.backend;
}

export function field(name: ThreadField): number {
  const t = current();
  if (!t.live[name]) throw fieldUnavailable(name, t.featureSize);
  return t.selection.backend.readField(name);
}

export function threadFields(): ThreadFields {
  const t = current();
  const read = (name: ThreadField): number | null => (t.live[name] ? t.selection.backend.readField(name) : null);
  return { cpuIdStart: read('cpuIdStart'), cpuId: read('cpuId'), nodeId: read('nodeId'), mmCid: read('mmCid') };
}

export function area(): RseqAreaView {
  const t = current();
  return (t.view ??= makeAreaView(t.selection.backend.areaSource(), t.live, t.featureSize));
}

