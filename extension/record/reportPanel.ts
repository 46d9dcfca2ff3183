import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { ReplaySummary } from '../../daemon/record/report';
import { replayHtml } from '../../daemon/record/reportHtml';

/**
 * The replay report in a webview: the same renderer as `heavy replay --html`, with no
 * scripts and no local resources (the page is HTML, CSS and inline SVG). One panel, shown
 * again with the newest replay.
 */
export class ReplayReportPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  /** What the panel shows now (tests read it). */
  html?: string;

  show(summary: ReplaySummary, title: string): void {
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('heavy.replayReport', title, vscode.ViewColumn.Active, {
        enableScripts: false,
        localResourceRoots: [],
      });
      this.panel.onDidDispose(() => { this.panel = undefined; this.html = undefined; });
    }
    this.panel.title = title;
    this.html = replayHtml(summary, title, { nonce: randomBytes(16).toString('base64') });
    this.panel.webview.html = this.html;
    this.panel.reveal();
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
