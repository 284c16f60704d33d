// The names of the built-in architectures, apart from their builders, so that the config layer
// (and the extension, through it) can list them without loading graph construction.

export const BUILTINS = ['mlp', 'cnn', 'bert'] as const;
export type BuiltinName = (typeof BUILTINS)[number];

/** The data column a built-in model reads by default (bert reads token ids). */
export function defaultInputName(builtin: BuiltinName): string {
  return builtin === 'cnn' ? 'pixel_values' : builtin === 'bert' ? 'input_ids' : 'features';
}
