import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { renderReportHtml } from '../../daemon/time/reportHtml';
import { loadReport } from '../../daemon/time/reportLoad';
import type { ReportData } from '../../daemon/time/report';
import type { TimeProject } from './project';

/** One report panel, re-rendered when shown again; the same renderer as `heavy time report --html`. */
export class TimeReportPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  last?: { html: string; report: ReportData };

  show(project: TimeProject): ReportData {
    const report = loadReport(project.root, project.config);
    if (!this.panel) {
      // No scripts and no local resources: the report is plain HTML, CSS and SVG.
      this.panel = vscode.window.createWebviewPanel('heavy.timeReport', 'Time Report', vscode.ViewColumn.Active, {
        enableScripts: false,
        localResourceRoots: [],
      });
      this.panel.onDidDispose(() => { this.panel = undefined; });
    }
    this.panel.title = `Time Report: ${path.basename(project.root)}`;
    const html = renderReportHtml(report, { nonce: randomBytes(16).toString('base64'), title: `Time report: ${path.basename(project.root)}` });
    this.panel.webview.html = html;
    this.panel.reveal();
    this.last = { html, report };
    return report;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
