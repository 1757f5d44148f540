// Writes the shipped hierarchy datasets (fleet/datasets/*.json) from the seeds
// and the two-tier mapping file. Run after changing either; the seeds test
// fails while a written file differs from what this makes.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { codec } from '@diemcau/shared';
import { applyTierMapping, DATASETS_DIR, TierMappingSchema, yenBai2022 } from '../fleet/src/seeds/datasets.js';

export function shippedDatasets(): Record<string, unknown> {
  const base = yenBai2022();
  const r = codec(TierMappingSchema).check(
    JSON.parse(readFileSync(path.join(DATASETS_DIR, 'yen-bai-two-tier.mapping.json'), 'utf8')),
  );
  if (!r.ok) throw r.error;
  const mapping = r.value;
  return { 'yen-bai-2022': base, 'yen-bai-two-tier': applyTierMapping(base, mapping) };
}

export const datasetText = (d: unknown): string => `${JSON.stringify(d, null, 1)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, d] of Object.entries(shippedDatasets())) {
    writeFileSync(path.join(DATASETS_DIR, `${name}.json`), datasetText(d));
    console.log(`wrote ${name}.json`);
  }
}
