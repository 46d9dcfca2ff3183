import * as vscode from 'vscode';
// Types only here: the client library (most of the bundle) is loaded on the first connection, not at activation.
import type { LanguageClient, StreamInfo } from 'vscode-languageclient/node';
import { startDaemon } from '../../daemon/client';
import { connectSocket as connect } from '../../daemon/util/socket';
import { Methods } from '../../daemon/protocol';
import { daemonPaths } from '../../daemon/server/paths';

/**
 * One connection per workspace folder to that project's test daemon (shared with
 * terminals running `heavy test`), started on first use.
 */
export class DaemonClients implements vscode.Disposable {
  private clients = new Map<string, Promise<LanguageClient>>();
  private readonly connected = new vscode.EventEmitter<{ folder: vscode.WorkspaceFolder; client: LanguageClient }>();
  private readonly disconnected = new vscode.EventEmitter<vscode.WorkspaceFolder>();
  /** A connection to a folder's daemon is up: subscribe to its notifications here (each new connection fires again). */
  readonly onDidConnect = this.connected.event;
  /** The folder's daemon went away (stopped, killed or restarted). */
  readonly onDidDisconnect = this.disconnected.event;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** The folder's connection if one is open or opening; never starts a daemon. */
  peek(folder: vscode.WorkspaceFolder): Promise<LanguageClient> | undefined {
    return this.clients.get(folder.uri.toString());
  }

  /** Forgets (and stops) the folder's connection, e.g. before stopping its daemon. */
  async drop(folder: vscode.WorkspaceFolder): Promise<void> {
    const key = folder.uri.toString();
    const client = this.clients.get(key);
    this.clients.delete(key);
    if (client) {
      await client.then((c) => c.stop(), () => {});
      this.disconnected.fire(folder);
    }
  }

  /** Makes sure the folder's daemon runs; returns the socket its Python side attaches to. */
  async ensureDaemon(folder: vscode.WorkspaceFolder): Promise<{ workerSocket: string; started: boolean }> {
    const paths = daemonPaths(folder.uri.fsPath);
    const sock = await connect(paths.socket);
    if (sock) {
      sock.destroy();
      return { workerSocket: paths.workerSocket, started: false };
    }
    await startDaemon(folder.uri.fsPath);
    this.log.appendLine(`started the test daemon for ${folder.uri.fsPath}`);
    return { workerSocket: paths.workerSocket, started: true };
  }

  get(folder: vscode.WorkspaceFolder): Promise<LanguageClient> {
    const key = folder.uri.toString();
    let client = this.clients.get(key);
    if (!client) {
      client = this.create(folder);
      client.catch(() => this.clients.delete(key));
      this.clients.set(key, client);
    }
    return client;
  }

  private async create(folder: vscode.WorkspaceFolder): Promise<LanguageClient> {
    const { CloseAction, ErrorAction, LanguageClient } = await import('vscode-languageclient/node');
    const root = folder.uri.fsPath;
    const serverOptions = async (): Promise<StreamInfo> => {
      await this.ensureDaemon(folder);
      const sock = await connect(daemonPaths(root).socket);
      if (!sock) throw new Error(`the test daemon for ${root} does not answer`);
      return { reader: sock, writer: sock };
    };
    const client = new LanguageClient('heavy.daemon', `Heavy Dev daemon (${folder.name})`, serverOptions, {
      documentSelector: [],
      outputChannel: this.log,
      workspaceFolder: folder,
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        // A daemon that was stopped or killed is started again on the next request.
        closed: () => {
          this.clients.delete(folder.uri.toString());
          this.disconnected.fire(folder);
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    });
    client.onNotification(Methods.log, ({ message }) => this.log.appendLine(`[daemon] ${message}`));
    await client.start();
    this.connected.fire({ folder, client });
    return client;
  }

  dispose(): void {
    for (const client of this.clients.values()) void client.then((c) => c.stop(), () => {});
    this.clients.clear();
    this.connected.dispose();
    this.disconnected.dispose();
  }
}
