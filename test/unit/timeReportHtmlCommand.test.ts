import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { timeCommand } from '../../daemon/cli/timeCommand';

describe('heavy time report --html', () => {
  it('writes the editor\'s report as one self-contained file', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'heavy-report-'));
    try {
      fs.writeFileSync(path.join(root, 'pyproject.toml'), '[tool.heavy.time]\nenabled = true\nuser = "ada"\n');
      fs.mkdirSync(path.join(root, '.heavy', 'time'), { recursive: true });
      const end = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
      const start = new Date(end.getTime() - 1800_000);
      // Unsigned, so the badge says failing: the file is still written, with the numbers.
      fs.writeFileSync(path.join(root, '.heavy', 'time', 'ada.jsonl'), JSON.stringify({ v: 1, user: 'ada', key: 'k', start: start.toISOString(), end: end.toISOString(), seconds: 1800, branch: 'main', files: 1, sig: 'x' }) + '\n');
      const out = path.join(root, 'report.html');
      const write = process.stdout.write;
      let printed = '';
      process.stdout.write = ((s: string) => { printed += s; return true; }) as typeof process.stdout.write;
      let code: number;
      try {
        code = await timeCommand(['report', '--root', root, '--html', out]);
      } finally {
        process.stdout.write = write;
      }
      assert.equal(code, 0);
      assert.match(printed, /wrote the time report to /);
      const html = fs.readFileSync(out, 'utf8');
      assert.match(html, /<svg class="chart"/);
      assert.match(html, /<rect class="bar c0/);
      assert.match(html, /30 min/);
      assert.match(html, /data-badge="failing"/);
      assert.doesNotMatch(html, /<script|https?:\/\//);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
