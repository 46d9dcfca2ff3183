// Entry point that VS Code loads from extensionTestsPath. Runs every *.test.js next to it
// with mocha and writes a results file for the launcher, since the launcher cannot see
// the extension host's console.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';

interface TestResult { title: string; state: 'passed' | 'failed'; duration?: number; error?: string }

export async function run(): Promise<void> {
  // HEAVY_TEST_GREP (passed on by the launcher) runs only the matching tests, while working on them.
  const mocha = new Mocha({ ui: 'bdd', timeout: 150000, color: false, grep: process.env.HEAVY_TEST_GREP || undefined });
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(path.join(__dirname, f));
  const tests: TestResult[] = [];
  let failures: number;
  try {
    failures = await new Promise<number>((resolve) => {
      const runner = mocha.run(resolve);
      runner.on('pass', (t) => tests.push({ title: t.fullTitle(), state: 'passed', duration: t.duration }));
      runner.on('fail', (t, err) => tests.push({ title: t.fullTitle(), state: 'failed', duration: t.duration, error: String(err?.stack ?? err) }));
    });
  } catch (err) {
    // A suite that cannot even load must still report, or the launcher waits for nothing.
    tests.push({ title: 'loading the integration suite', state: 'failed', error: String((err as Error)?.stack ?? err) });
    failures = 1;
  }
  const out = process.env.HEAVY_TEST_RESULTS;
  // Figures the tests measured (activation time, status-bar first paint), printed by the launcher.
  const measurements = (globalThis as { heavyMeasurements?: string[] }).heavyMeasurements ?? [];
  const report = { vscodeVersion: vscode.version, passed: tests.filter((t) => t.state === 'passed').length, failed: failures, tests, measurements };
  if (out) {
    fs.writeFileSync(out + '.tmp', JSON.stringify(report, null, 2));
    fs.renameSync(out + '.tmp', out);
  }
  if (failures > 0) throw new Error(`${failures} integration tests failed`);
}
