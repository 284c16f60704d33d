// Turns what the Hub client throws into one-line messages naming the repository: refusals the
// user fixes (token, name, revision) are UserErrors (exit 2); network and server failures stay
// plain errors (exit 1).

import { HubApiError } from '@huggingface/hub';
import { UserError } from '../errors';
import { HubSettings } from './settings';

/** What the server said, without the client's "URL: …" trailer. */
function serverMessage(e: HubApiError): string {
  const data = e.data as { error?: unknown; message?: unknown } | undefined;
  const text = typeof data?.error === 'string' ? data.error : typeof data?.message === 'string' ? data.message : '';
  return text.split('\n')[0].trim();
}

/** The error to report for a failed Hub request about `where` (an hf:// name). */
export function hubFailure(e: unknown, where: string, settings: HubSettings): Error {
  if (e instanceof HubApiError) {
    const said = serverMessage(e);
    const detail = said ? `: ${said}` : '';
    switch (e.statusCode) {
      case 401:
        return new UserError(settings.token
          ? `${where}: ${settings.endpoint} refused the token in HF_TOKEN (401 Unauthorized${detail}); check that it is valid and has access to this repository`
          : `${where}: ${settings.endpoint} asks for a token (401 Unauthorized${detail}); the repository is private or gated, or does not exist — set HF_TOKEN`);
      case 403:
        return new UserError(`${where}: the token has no access to this repository (403 Forbidden${detail}); accept its conditions on the Hub or use another token`);
      case 404:
        return new UserError(`${where}: not found on ${settings.endpoint} (404${detail}); check the repository name and the revision`);
      default:
        return new Error(`${where}: ${settings.endpoint} answered ${e.statusCode}${detail}`);
    }
  }
  if (e instanceof TypeError && /access token must start with/.test(e.message)) {
    return new UserError(`HF_TOKEN is not a Hugging Face token (it must start with "hf_")`);
  }
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (e as Error).message ?? String(e);
  return new Error(`${where}: cannot reach ${settings.endpoint} (${why}); set HF_HUB_OFFLINE=1 to use the cache only`);
}

/** Whether a failure is the network's (the cache may stand in), not the Hub's answer. */
export function isNetworkFailure(e: unknown): boolean {
  return !(e instanceof HubApiError) && !(e instanceof UserError) && e instanceof TypeError && !/access token/.test(e.message);
}
