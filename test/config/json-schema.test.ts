// docs/tierfs.schema.json is what `tierfs config schema` generates from the zod schema,
// byte for byte: editors check tierfs.yaml against the committed file, so it must not
// drift from the code. (Regenerate: tierfs config schema > docs/tierfs.schema.json)
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { configSchema } from '../../src/config/schema.js';

const committed = readFileSync(new URL('../../docs/tierfs.schema.json', import.meta.url), 'utf8');

interface Node {
  properties?: Record<string, Node>;
  additionalProperties?: unknown;
  required?: string[];
}

describe('docs/tierfs.schema.json', () => {
  it('is what the code generates (run `tierfs config schema > docs/tierfs.schema.json` after changing the schema)', () => {
    expect(committed).toBe(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  });

  it('names every top-level key, refuses unknown ones as the loader does, and requires what the loader requires', () => {
    const root = JSON.parse(committed) as Node & { $schema: string };
    expect(root.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(Object.keys(root.properties!).sort()).toEqual(Object.keys(configSchema.shape).sort());
    expect(root.additionalProperties).toBe(false);
    expect(root.required?.sort()).toEqual(['dataDir', 'tiers']);
    // Units as people write them: a size is a number or a string such as "20MiB".
    const bandwidth = root.properties!.mover!.properties!.bandwidth as { type?: string[] };
    expect(bandwidth.type).toEqual(['number', 'string']);
  });
});
