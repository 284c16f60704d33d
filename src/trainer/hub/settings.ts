// The Hub settings huggingface_hub reads from the environment, read the same way so that Python
// tools and Trainer share one cache, one endpoint and one token.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HUB_URL } from '@huggingface/hub';

export interface HubSettings {
  /** HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
  cacheDir: string;
  /** HF_ENDPOINT, else https://huggingface.co. */
  endpoint: string;
  /** HF_TOKEN, else the token `huggingface-cli login` saved in HF_HOME/token. */
  token?: string;
  /** HF_HUB_OFFLINE: use the cache only, never the network. */
  offline: boolean;
  /** Redrawn progress bars, unless HF_HUB_DISABLE_PROGRESS_BARS (one line per file then). */
  progressBars: boolean;
}

/** huggingface_hub's reading of a boolean environment variable. */
function isTrue(value: string | undefined): boolean {
  return ['1', 'ON', 'YES', 'TRUE'].includes((value ?? '').toUpperCase());
}

/** The settings from an environment (the process's by default). */
export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const home = env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface');
  const cacheDir = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || path.join(home, 'hub');
  let token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  const tokenFile = env.HF_TOKEN_PATH || path.join(home, 'token');
  if (!token && fs.existsSync(tokenFile)) token = fs.readFileSync(tokenFile, 'utf8').trim() || undefined;
  return { cacheDir, endpoint: (env.HF_ENDPOINT || HUB_URL).replace(/\/+$/, ''), token, offline: isTrue(env.HF_HUB_OFFLINE), progressBars: !isTrue(env.HF_HUB_DISABLE_PROGRESS_BARS) };
}
