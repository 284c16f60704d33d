// The messages between the extension and the Try view's webview (src/extension/tryPanel.ts and
// webview/try/main.ts): one discriminated union per direction. The webview says `ready`; the
// extension answers with `setup` (which inputs this model takes); each `ask` is answered by
// `busy`, then `answer` or `error`. No logic lives here.

import type { TryAnswer, TryInput } from './protocol';

/** Which inputs a model takes: text (classification may add a pair), question + context, an image, or a JSON record. */
export type TryForm = 'text' | 'pair' | 'qa' | 'image' | 'record';

export type ExtensionToTry =
  | { type: 'setup'; title: string; form: TryForm; example?: string }
  | { type: 'busy'; message: string }
  | { type: 'answer'; answer: TryAnswer; seconds: number }
  | { type: 'error'; message: string }
  /** The image file the user picked (its path, shown in the view). */
  | { type: 'image'; path: string };

export type TryToExtension =
  | { type: 'ready' }
  | { type: 'ask'; input: TryInput }
  | { type: 'pickImage' };
