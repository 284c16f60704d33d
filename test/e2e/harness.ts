// The end-to-end harness: a real VS Code 1.100 (code-server, installed by scripts/e2e/setup.sh)
// with the packaged extension (the VSIX) installed into a fresh extensions folder, driven by
// Debian's Chromium through playwright-core. See shared/tools/code-server-setup.md.

import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Browser, Frame, Locator, Page, chromium } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CODE_SERVER = path.join(process.env.CODE_SERVER_DIR ?? path.join(ROOT, '.cache', 'code-server'), 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export function log(msg: string): void {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Session {
  page: Page;
  browser: Browser;
  server: ChildProcess;
  port: number;
  dirs: { home: string; userData: string; extensions: string; workspace: string; artifacts: string };
  serverLog: string[];
  close(): Promise<void>;
}

/** Installs the VSIX into a fresh extensions folder, starts code-server on `workspace` and opens it in Chromium. */
export async function openVsCode(opts: { vsix: string; workspace: string; base: string; artifacts: string; restricted?: boolean }): Promise<Session> {
  const dirs = {
    home: path.join(opts.base, 'home'),
    userData: path.join(opts.base, 'user-data'),
    extensions: path.join(opts.base, 'extensions'),
    workspace: opts.workspace,
    artifacts: opts.artifacts,
  };
  for (const d of [dirs.home, dirs.userData, dirs.extensions]) fs.rmSync(d, { recursive: true, force: true });
  for (const d of [dirs.home, path.join(dirs.userData, 'User'), dirs.extensions, dirs.artifacts]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.ignoreRecommendations': true,
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'update.mode': 'none',
    'window.restoreWindows': 'none',
    'files.autoSave': 'off',
    'editor.codeLens': true,
    'workbench.editor.enablePreview': false,
    // Restricted Mode without the question at startup: the workspace simply opens untrusted.
    'security.workspace.trust.startupPrompt': 'never',
    'security.workspace.trust.banner': 'never',
  }, null, 2));
  const env = { ...process.env, HOME: dirs.home, XDG_CONFIG_HOME: path.join(dirs.home, '.config'), XDG_DATA_HOME: path.join(dirs.home, '.local', 'share') };
  const common = ['--config', '/dev/null', '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
  log(`installing ${path.basename(opts.vsix)}`);
  execFileSync(process.execPath, [CODE_SERVER, ...common, '--install-extension', opts.vsix], { env, stdio: 'pipe' });

  const port = await freePort();
  const serverLog: string[] = [];
  const server = spawn(process.execPath, [CODE_SERVER, ...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry', '--disable-update-check', ...(opts.restricted ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override', dirs.workspace], {
    env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => {
    for (const l of String(d).split('\n')) if (l.trim()) serverLog.push(l);
    if (serverLog.length > 400) serverLog.splice(0, serverLog.length - 400);
  };
  server.stdout!.on('data', keep);
  server.stderr!.on('data', keep);
  await waitFor('code-server /healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000, 500);
  log(`code-server on port ${port}`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  log('workbench loaded');

  const close = async () => {
    await browser.close().catch(() => {});
    // The extension host and anything it forked outlive the browser: end the whole group.
    try {
      process.kill(-server.pid!, 'SIGTERM');
    } catch {
      // Already gone.
    }
    await new Promise((r) => setTimeout(r, 500));
    try {
      process.kill(-server.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
    for (const p of processesMatching(dirs.workspace)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  return { page, browser, server, port, dirs, serverLog, close };
}

/** Processes whose command line contains `text` (read from /proc). */
export function processesMatching(text: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(text) && Number(name) !== process.pid) out.push({ pid: Number(name), cmd });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/**
 * Trainer processes working on a config (or on any config under a folder). The config travels in
 * the start request, not on the command line: a trainer runs in its config's folder, so its
 * working directory says which config it works on.
 */
export function trainersOf(configOrFolder: string): { pid: number; cmd: string }[] {
  const folder = configOrFolder.endsWith('.yaml') || configOrFolder.endsWith('.json') ? path.dirname(configOrFolder) : configOrFolder;
  return processesMatching('trainerProcess.js').filter((p) => {
    try {
      const cwd = fs.readlinkSync(`/proc/${p.pid}/cwd`);
      return cwd === folder || cwd.startsWith(folder + path.sep);
    } catch {
      return false;
    }
  });
}

/**
 * Opens the quick input with `key`, types `text` and finishes with `choose`, retrying from the
 * start when the quick input closes under us (VS Code may still be restoring the window).
 */
async function throughQuickInput(page: Page, key: string, text: string, attempts: number, choose: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press(key);
    const input = page.locator('.quick-input-widget .quick-input-box input');
    try {
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(text);
      await choose();
      return;
    } catch (e) {
      if (attempt === attempts) throw e;
    }
  }
}

/** Runs a command from the palette (F1). */
export async function runCommand(page: Page, title: string): Promise<void> {
  await throughQuickInput(page, 'F1', `>${title}`, 4, async () => {
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
    await row.waitFor({ state: 'visible', timeout: 5000 });
    await row.click();
  });
}

/**
 * Opens a quick pick with `open` and picks its row with `text`. VS Code closes a quick pick when
 * the focus moves (a webview or view redrawn on a busy machine can take it): a pick that closed
 * before the click is opened again, and what had the focus is logged.
 */
export async function pickFrom(page: Page, open: () => Promise<void>, text: string | RegExp, attempts = 3): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  for (let attempt = 1; ; attempt++) {
    await open();
    const row = widget.locator('.monaco-list-row', { hasText: text }).first();
    try {
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      await row.click({ timeout: 5000 });
      // Picked: the row goes (the quick pick closes, or the next step of the command replaces it).
      await row.waitFor({ state: 'hidden', timeout: 10_000 });
      return;
    } catch (e) {
      const focus = await page.evaluate(() => {
        const el = (globalThis as unknown as { document: { activeElement: { tagName: string; className: unknown } | null } }).document.activeElement;
        return el ? `${el.tagName.toLowerCase()}.${String(el.className).split(' ').slice(0, 3).join('.')}` : 'nothing';
      }).catch(() => 'unknown');
      log(`quick pick row "${text}" could not be clicked (attempt ${attempt}; focus on ${focus}): ${(e as Error).message.split('\n')[0]}`);
      if (attempt === attempts) throw new Error(`the quick pick row "${text}" (${attempts} attempts): ${(e as Error).message.split('\n')[0]}`);
      await page.keyboard.press('Escape');
    }
  }
}

/** Picks a row of the quick pick that is open now (one that cannot be opened again). */
export async function pickQuick(page: Page, text: string | RegExp): Promise<void> {
  await pickFrom(page, async () => {}, text, 1);
}

/** Opens a workspace file with Quick Open. */
export async function openFile(page: Page, relPath: string): Promise<void> {
  await throughQuickInput(page, 'Control+P', relPath, 3, async () => {
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: path.basename(relPath) }).filter({ hasText: path.dirname(relPath) === '.' ? '' : path.dirname(relPath) }).first();
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    await page.keyboard.press('Enter');
    await page.locator('.editor-group-container.active .tab.active', { hasText: path.basename(relPath) }).waitFor({ timeout: 10_000 });
  });
}

/** A code lens of the active editor by its text. */
export function lens(page: Page, text: string | RegExp): Locator {
  return page.locator('.editor-group-container .monaco-editor .codelens-decoration a', { hasText: text }).first();
}

/** Shows the Trainer view in the side bar (another view may have taken its place). */
export async function showTrainerView(page: Page): Promise<void> {
  const icon = page.locator('.activitybar .action-item a[aria-label^="Trainer"]');
  await icon.waitFor({ timeout: 90_000 });
  if (await page.locator('.part.sidebar .title-label', { hasText: /^Trainer/i }).count()) return;
  await icon.click();
  await page.locator('.part.sidebar .title-label', { hasText: /^Trainer/i }).waitFor({ timeout: 10_000 });
}

/** A row of the Trainer tree by (the start of) its accessible name. */
export function treeItem(page: Page, name: string | RegExp): Locator {
  return page.locator('.part.sidebar').getByRole('treeitem', { name }).first();
}

/** Opens a tree row's context menu and runs one of its entries. */
export async function contextMenu(page: Page, row: Locator, entry: string): Promise<void> {
  await row.click({ button: 'right' });
  const item = page.locator('.context-view .monaco-menu .action-item', { hasText: entry }).first();
  await item.waitFor({ timeout: 10_000 });
  // The menu ignores a click that comes right as it opens.
  await page.waitForTimeout(300);
  await item.click();
  await item.waitFor({ state: 'hidden', timeout: 5000 });
}

/** Notification toasts' texts. */
export async function notifications(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
}

/** The inner frame of the webview whose document has this title. */
export async function webviewFrame(page: Page, title: string): Promise<Frame | undefined> {
  for (const handle of await page.locator('iframe.webview.ready').elementHandles()) {
    const outer = await handle.contentFrame();
    const innerHandle = await outer?.$('iframe#active-frame');
    const inner = await innerHandle?.contentFrame();
    if (inner && (await inner.title().catch(() => '')) === title) return inner;
  }
  return undefined;
}

/**
 * How many clicks on a tree row's command VS Code dropped: a redraw replaces every row's command
 * in the extension host, and a click on a row drawn before it finds nothing to run. VS Code
 * only logs it ("Actual command not found, wanted to execute <command>"), in the extension
 * host's log.
 */
function lostTreeClicks(session: Session, command: string): number {
  const logs = path.join(session.dirs.userData, 'logs');
  let n = 0;
  const visit = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.name === 'remoteexthost.log') n += fs.readFileSync(p, 'utf8').split(`Actual command not found, wanted to execute ${command} `).length - 1;
    }
  };
  if (fs.existsSync(logs)) visit(logs);
  return n;
}

/**
 * Clicks a tree row whose command shows `shown`. A click that VS Code dropped because the tree
 * was being redrawn (lostTreeClicks: the extension redraws only on a change it shows, but a stop
 * brings several) is made again, as a user would; any other failure to show `shown` fails.
 */
export async function clickTreeRow(session: Session, row: Locator, command: string, shown: Locator, attempts = 3): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const lost = lostTreeClicks(session, command);
    await row.click();
    const seen = await waitFor(`what a click on the row shows (${command})`, async () => ((await shown.isVisible()) ? 'shown' : lostTreeClicks(session, command) > lost ? 'lost' : undefined), 30_000);
    if (seen === 'shown') return;
    if (attempt === attempts) throw new Error(`VS Code dropped ${attempts} clicks on the row: the tree was being redrawn each time`);
    log(`VS Code dropped the click on the row (${command}: "Actual command not found", the tree was being redrawn); clicking again`);
  }
}
