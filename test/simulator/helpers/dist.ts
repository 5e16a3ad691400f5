/**
 * Workers load the compiled package, not the TypeScript sources: run
 * `npm run build:ts` first. This helper finds dist/cjs/fallback and refuses
 * to run workers on a build older than the fallback sources.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const BACKEND_ENTRY = path.join(ROOT, 'dist', 'cjs', 'fallback', 'backend.js');
export const HOST_WORKER = path.join(ROOT, 'test', 'simulator', 'helpers', 'host-worker.cjs');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Throws unless dist/cjs/fallback exists and is at least as new as every fallback/**.ts. */
export function requireFreshBuild(): void {
  if (!fs.existsSync(BACKEND_ENTRY)) throw new Error(`workers need the compiled package at ${BACKEND_ENTRY}: run npm run build:ts`);
  for (const src of sources(path.join(ROOT, 'fallback'))) {
    const built = path.join(ROOT, 'dist', 'cjs', path.relative(ROOT, src)).replace(/\.ts$/, '.js');
    if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(src).mtimeMs) {
      throw new Error(`${path.relative(ROOT, built)} is older than ${path.relative(ROOT, src)}: run npm run build:ts`);
    }
  }
}
