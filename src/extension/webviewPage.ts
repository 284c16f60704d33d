// The page of every webview the extension opens: a strict Content-Security-Policy (a nonce for
// the one bundled script and stylesheet, nothing else loads) around the view's own body.

import * as crypto from 'node:crypto';
import * as vscode from 'vscode';

const escape = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The HTML of a webview showing `body`, running dist/webview/`script` with the shared stylesheet. */
export function webviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, page: { title: string; script: string; body: string; bodyClass?: string }): string {
  const n = crypto.randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', page.script));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'main.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource} 'nonce-${n}'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${n}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escape(page.title)}</title>
<link rel="stylesheet" nonce="${n}" href="${style}">
</head>
<body${page.bodyClass ? ` class="${page.bodyClass}"` : ''}>
${page.body}
<script nonce="${n}" src="${script}"></script>
</body>
</html>`;
}

export { escape as escapeHtml };
