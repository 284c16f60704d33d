// The Try view: a webview beside the editor where the user types text (or picks an image, or
// writes a data record) and sees a checkpoint's answer. Each question runs `onnx-trainer try` in
// a trainer process (the same forked dist/trainerProcess.js as training, never the extension
// host): the view stays responsive while the model loads, and a model that cannot be loaded is
// the trainer's own one-line error. Closing the view kills a process still answering.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { TryAnswer, TryInput, assertNever } from '../protocol';
import type { ExtensionToTry, TryToExtension } from '../tryViewProtocol';
import { tryFormOf } from './tryForm';
import { DisposableStore } from './events';
import { TrainerProcess } from './trainerChild';
import { escapeHtml, webviewPage } from './webviewPage';

export const TRY_VIEW_TYPE = 'trainer.try';

export interface TryTarget {
  /** The run's label, for the title. */
  label: string;
  config: string;
  /** A checkpoint folder; undefined for the run's final model (its output_dir). */
  checkpoint?: string;
  /** The folder holding the model files (the checkpoint, or the output_dir). */
  modelDir: string;
  name: string;
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  return webviewPage(webview, extensionUri, {
    title,
    script: 'try.js',
    bodyClass: 'try',
    body: `<h1>${escapeHtml(title)}</h1>
<form id="form"></form>
<p id="status" role="status" aria-live="polite"></p>
<section id="answer" aria-label="Answer"></section>`,
  });
}

/** One Try view on one model. */
export class TryPanel implements vscode.Disposable {
  private readonly store = new DisposableStore();
  private process: TrainerProcess | undefined;
  private readonly tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-try-'));
  private readonly title: string;

  constructor(private readonly panel: vscode.WebviewPanel, private readonly target: TryTarget, private readonly script: string, extensionUri: vscode.Uri) {
    this.title = `Try ${target.label} · ${target.name}`;
    panel.webview.html = html(panel.webview, extensionUri, this.title);
    this.store.add(panel.webview.onDidReceiveMessage((m: TryToExtension) => void this.onMessage(m)));
    this.store.add(panel.onDidDispose(() => this.dispose()));
  }

  static open(target: TryTarget, script: string, extensionUri: vscode.Uri): TryPanel {
    const panel = vscode.window.createWebviewPanel(TRY_VIEW_TYPE, `Try ${target.label} · ${target.name}`, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
    });
    return new TryPanel(panel, target, script, extensionUri);
  }

  private post(m: ExtensionToTry) {
    void this.panel.webview.postMessage(m);
  }

  private async onMessage(m: TryToExtension) {
    switch (m.type) {
      case 'ready':
        this.post({ type: 'setup', title: this.title, form: tryFormOf(this.target.modelDir) });
        break;
      case 'ask':
        this.ask(m.input);
        break;
      case 'pickImage': {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Images: ['png', 'jpg', 'jpeg'] }, title: 'An image to try' });
        if (picked?.[0]) this.post({ type: 'image', path: picked[0].fsPath });
        break;
      }
      default:
        assertNever(m);
    }
  }

  /** Answers one input; a question asked while another is answered replaces it. */
  private ask(input: TryInput) {
    this.process?.dispose();
    const output = path.join(this.tmp, 'answer.json');
    fs.rmSync(output, { force: true });
    const started = Date.now();
    this.post({ type: 'busy', message: `Loading ${this.target.name} and answering…` });
    const proc = new TrainerProcess({
      script: this.script, command: 'try', config: this.target.config, cwd: path.dirname(this.target.config),
      job: { checkpoint: this.target.checkpoint, output, input },
    });
    this.process = proc;
    proc.onExit((outcome) => {
      if (this.process !== proc) return;
      this.process = undefined;
      proc.dispose();
      switch (outcome.kind) {
        case 'finished':
          try {
            this.post({ type: 'answer', answer: JSON.parse(fs.readFileSync(output, 'utf8')) as TryAnswer, seconds: (Date.now() - started) / 1000 });
          } catch {
            this.post({ type: 'error', message: 'The trainer finished without writing an answer.' });
          }
          break;
        case 'error':
          this.post({ type: 'error', message: outcome.message });
          break;
        case 'crashed':
          this.post({ type: 'error', message: `The model could not be run: the trainer process ${outcome.signal ? `was killed (${outcome.signal})` : `exited with code ${outcome.exitCode}`}. ${outcome.lastLines.slice(-1).join('')}` });
          break;
        case 'stopped':
          break;
        default:
          assertNever(outcome);
      }
    });
  }

  /** Processes still answering (for tests: zero once the view is closed). */
  get running(): boolean {
    return this.process?.running ?? false;
  }

  dispose(): void {
    this.process?.dispose();
    this.process = undefined;
    this.store.dispose();
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}
