/**
 * Property tests (fast-check) of the public per-CPU structures on the
 * simulator: random programs of operations mixed with events (migration to a
 * CPU, fences) while the simulator aborts every 64th section (the simulator
 * project sets RSEQ_SIM_ABORT_RATE). Every structure must match a plain model.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerCpuBuffer, PerCpuCounter, PerCpuPool, RseqError, rseq } from '../../src/index.js';

let cpus: number[];
beforeAll(() => {
  cpus = rseq.getAffinity();
});
afterAll(() => rseq.setAffinity(cpus));

const migrate = fc.nat().map((n) => ({ kind: 'migrate' as const, n }));
const fence = fc.constant({ kind: 'fence' as const });

describe('PerCpuCounter on the simulator', () => {
  it('the sum is exact whatever the adds, paths, migrations and fences', () => {
    const add = fc.record({ kind: fc.constant('add' as const), n: fc.integer({ min: -1000, max: 1000 }), rseqPath: fc.boolean() });
    fc.assert(
      fc.property(fc.array(fc.oneof(add, add, add, migrate, fence), { maxLength: 120 }), (program) => {
        const viaAtomics = new PerCpuCounter({ path: 'atomics' });
        const viaRseq = PerCpuCounter.from(viaAtomics.buffer, { path: 'rseq' });
        let model = 0;
        for (const step of program) {
          if (step.kind === 'add') {
            (step.rseqPath ? viaRseq : viaAtomics).add(step.n);
            model += step.n;
          } else if (step.kind === 'migrate') rseq.setAffinity([cpus[step.n % cpus.length]!]);
          else rseq.fence();
        }
        expect(viaAtomics.value()).toBe(model);
        expect(viaAtomics.perCpu().reduce((a, b) => a + b, 0n)).toBe(BigInt(model));
      }),
      { numRuns: 60 },
    );
  });
});

describe('PerCpuBuffer on the simulator', () => {
  it('each CPU is a stack; full stacks refuse without loss; drain returns exactly what remains', () => {
    const push = fc.constant({ kind: 'push' as const });
    const pop = fc.constant({ kind: 'pop' as const });
    const drain = fc.constant({ kind: 'drain' as const });
    fc.assert(
      fc.property(fc.array(fc.oneof(push, push, push, pop, pop, drain, migrate, fence), { maxLength: 150 }), (program) => {
        const b = new PerCpuBuffer({ recordSize: 4, capacity: 5 });
        const model = new Map<number, number[]>(); // CPU -> stack of record numbers
        let next = 0;
        const rec = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
        const num = (r: Uint8Array): number => new Uint32Array(r.slice().buffer)[0]!;
        for (const step of program) {
          const cpu = rseq.cpuId();
          const stack = model.get(cpu) ?? [];
          model.set(cpu, stack);
          if (step.kind === 'push') {
            const n = next++;
            if (stack.length === 5) {
              expect(() => b.push(rec(n))).toThrow(RseqError);
            } else {
              b.push(rec(n));
              stack.push(n);
            }
          } else if (step.kind === 'pop') {
            const r = b.pop();
            expect(r === null ? null : num(r)).toBe(stack.length === 0 ? null : stack.pop());
          } else if (step.kind === 'drain') {
            const got = b.drain().map(num).sort((x, y) => x - y);
            const want = [...model.values()].flat().sort((x, y) => x - y);
            expect(got).toEqual(want);
            model.clear();
          } else if (step.kind === 'migrate') rseq.setAffinity([cpus[step.n % cpus.length]!]);
          else rseq.fence();
          expect(b.size()).toBe([...model.values()].reduce((s, st) => s + st.length, 0));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('PerCpuPool on the simulator', () => {
  it('no index is handed out twice or lost; take() is null exactly when every index is out', () => {
    const take = fc.constant({ kind: 'take' as const });
    const give = fc.nat().map((n) => ({ kind: 'give' as const, n }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.oneof(take, take, give, migrate, fence), { maxLength: 150 }), (size, program) => {
        const p = new PerCpuPool({ size });
        const out = new Set<number>();
        for (const step of program) {
          if (step.kind === 'take') {
            const i = p.take();
            if (out.size === size) expect(i).toBeNull();
            else {
              expect(i).not.toBeNull();
              expect(out.has(i!)).toBe(false);
              expect(i).toBeGreaterThanOrEqual(0);
              expect(i).toBeLessThan(size);
              out.add(i!);
            }
          } else if (step.kind === 'give') {
            if (out.size === 0) continue;
            const i = [...out][step.n % out.size]!;
            p.give(i);
            out.delete(i);
          } else if (step.kind === 'migrate') rseq.setAffinity([cpus[step.n % cpus.length]!]);
          else rseq.fence();
        }
        // Everything not out is still in the pool, exactly once.
        const rest: number[] = [];
        for (let i = p.take(); i !== null; i = p.take()) rest.push(i);
        expect(rest.length + out.size).toBe(size);
        expect(new Set([...rest, ...out]).size).toBe(size);
      }),
      { numRuns: 60 },
    );
  });
});

it('the simulator aborted sections during these programs', () => {
  expect(rseq.backend).toBe('simulator');
  expect(rseq.opCounts().aborts).toBeGreaterThan(0);
});
