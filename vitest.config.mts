import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// scripts/test-node-majors.cjs runs the suite under each Node major with that
// release first on PATH: RSEQ_NODE_MAJOR says which one vitest must be running
// on, and RSEQ_VITEST_JSON where that major's report goes.
const wantedMajor = process.env.RSEQ_NODE_MAJOR;
if (wantedMajor && process.versions.node.split('.')[0] !== wantedMajor) {
  throw new Error(`RSEQ_NODE_MAJOR=${wantedMajor}, but vitest runs on Node ${process.version} (${process.execPath})`);
}

// The shared suite (test/shared) runs twice: once on the native backend and
// once on the simulator. Native-only and simulator-only tests run beside it.
export default defineConfig({
  resolve: {
    alias: [
      // src/select.ts loads the simulator with a runtime require of the compiled
      // fallback/backend.js; the tests run the TypeScript sources, so there the
      // loader is a module that imports the simulator statically.
      { find: /^\.\/simulator-loader\.js$/, replacement: fileURLToPath(new URL('./test/helpers/simulator-loader.ts', import.meta.url)) },
    ],
  },
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: process.env.RSEQ_VITEST_JSON || 'test-results/vitest.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'native',
          include: ['test/shared/**/*.test.ts', 'test/native/**/*.test.ts'],
          env: { RSEQ_BACKEND: 'native' },
        },
      },
      {
        // As on a platform without the addon: auto must fall back to the simulator.
        extends: true,
        test: {
          name: 'fallback',
          include: ['test/shared/**/*.test.ts'],
          env: { RSEQ_BACKEND: 'auto', RSEQ_ADDON: '/nonexistent/rseq.node', RSEQ_SIM_ABORT_RATE: '64' },
        },
      },
      {
        extends: true,
        test: {
          name: 'simulator',
          include: ['test/shared/**/*.test.ts', 'test/simulator/**/*.test.ts'],
          // Abort every 64th section attempt, so the abort path runs on any host.
          env: { RSEQ_BACKEND: 'simulator', RSEQ_SIM_ABORT_RATE: '64' },
        },
      },
      {
        // The shared suite on Linux 7.0's optimised v2 mode (glibc 2.41 registers
        // 33 bytes), where a user write to cpu_id_start, cpu_id, node_id or
        // mm_cid is a simulated SIGSEGV, and the time-slice extension exists.
        extends: true,
        test: {
          name: 'simulator-v2',
          // The whole shared suite, worker termination (faults.test.ts) included.
          include: ['test/shared/**/*.test.ts'],
          env: { RSEQ_BACKEND: 'simulator', RSEQ_SIM_KERNEL: '7.0', RSEQ_SIM_ABORT_RATE: '64' },
        },
      },
    ],
  },
});
