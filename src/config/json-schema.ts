// The JSON Schema of tierfs.yaml, generated from the zod schema (tierfs config schema).
// Committed as docs/tierfs.schema.json, which editors use to complete and check the file
// (README: "Editing tierfs.yaml"); a test fails when the committed copy is stale.
// Draft-07: the draft every YAML language server reads.
import { z } from 'zod';
import { configSchema } from './schema.js';

export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-07' }),
    title: 'tierfs.yaml',
    description: 'tierfs configuration (generated from the schema in src/config by `tierfs config schema`)',
  };
}
