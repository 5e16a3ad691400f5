/**
 * Field liveness: the kernel keeps a field of `struct rseq` up to date only
 * when AT_RSEQ_FEATURE_SIZE covers it. Kernels before 6.3 publish no feature
 * size; their fields are the original 20 bytes.
 */
import { RSEQ_AREA } from './abi.js';
import { RseqError } from './errors.js';
import type { FieldAvailability, RseqField } from './types.js';

/** The feature size of the original ABI (Linux 4.18 to 6.2). */
export const ORIGINAL_FEATURE_SIZE = RSEQ_AREA.origFeatureSize;

/** Bytes of feature size a field needs to be live: the end of the field. */
export function featureSizeNeeded(field: RseqField): number {
  const f = RSEQ_AREA.fields[field];
  return f.offset + f.size;
}

export function fieldsFromFeatureSize(featureSize: number | null): FieldAvailability {
  const size = featureSize ?? ORIGINAL_FEATURE_SIZE;
  const live = (f: RseqField): boolean => size >= featureSizeNeeded(f);
  return {
    cpuIdStart: live('cpuIdStart'),
    cpuId: live('cpuId'),
    nodeId: live('nodeId'),
    mmCid: live('mmCid'),
    sliceCtrl: live('sliceCtrl'),
  };
}

export function fieldUnavailable(field: RseqField, featureSize: number | null): RseqError {
  const published =
    featureSize === null
      ? `this kernel publishes no AT_RSEQ_FEATURE_SIZE (before Linux 6.3), so only the original ${ORIGINAL_FEATURE_SIZE} bytes are live`
      : `this kernel's AT_RSEQ_FEATURE_SIZE is ${featureSize}`;
  return new RseqError(
    'ERR_RSEQ_FIELD_UNAVAILABLE',
    `rseq field ${RSEQ_AREA.fields[field].c} is not published: ${published}, and ${RSEQ_AREA.fields[field].c} needs ${featureSizeNeeded(field)}`,
  );
}
