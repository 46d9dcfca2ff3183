import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyExample, EXAMPLE } from '../helpers/project';
import { get, serve, stop, type Served } from './helpers';

// What a save means to heavy serve: a reload (project source, `watch`), nothing (the default
// ignores, `ignore`), or a rebuild of the warm parent (requirement and lock files, an install).
describe('heavy serve: what triggers a reload, and what a full restart', function () {
  this.timeout(120000);
  let root: string;
  let server: Served;
  const reloads = () => (server.output().match(/reloaded in \d+ ms/g) ?? []).length;
  const settle = () => new Promise((r) => setTimeout(r, 1500));
  // As an editor saves: the whole new text at once (a truncate, then a write paused past the
  // 30 ms debounce on a busy machine, would be two saves, the first of an empty file).
  const save = (file: string, text: string) => {
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.saving`);
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  };

  before(async () => {
    root = copyExample({
      'app/generated.py': 'VALUE = 1\n',
      'app/banner.txt': 'banner v1\n',
      'app/banner.py': [
        'from pathlib import Path',
        '',
        '# Read at import: only a new version of the code sees a new banner.txt.',
        'TEXT = (Path(__file__).parent / "banner.txt").read_text().strip()',
        '',
      ].join('\n'),
    });
    const pyproject = path.join(root, 'pyproject.toml');
    fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace('[tool.heavy.serve]\n',
      '[tool.heavy.serve]\nwatch = ["**/*.py", ".env", "app/*.txt"]\nignore = ["app/generated.py"]\n'));
    const mainPy = path.join(root, 'app', 'main.py');
    fs.appendFileSync(mainPy, '\nfrom app import banner\n\n@app.get("/banner")\ndef banner_route():\n    return {"banner": banner.TEXT}\n');
    server = await serve(root, ['serve']);
    await server.waitOutput(/serving app\.main:app on http:\/\/127\.0\.0\.1/, 1, 60000);
  });

  after(async () => {
    if (server) await stop(server);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the default ignores (tests, caches, .venv) and [tool.heavy.serve] ignore never reload', async () => {
    const before = reloads();
    fs.appendFileSync(path.join(root, 'tests', 'test_logic.py'), '\n# edited\n');
    fs.writeFileSync(path.join(root, 'tests', 'conftest.py'), fs.readFileSync(path.join(root, 'tests', 'conftest.py'), 'utf8') + '\n');
    fs.mkdirSync(path.join(root, '.pytest_cache'), { recursive: true });
    fs.writeFileSync(path.join(root, '.pytest_cache', 'x.py'), '');
    fs.writeFileSync(path.join(root, 'app', 'generated.py'), 'VALUE = 2\n');
    fs.writeFileSync(path.join(root, 'README.md'), 'not watched\n');
    await settle();
    assert.equal(reloads(), before, server.output());
    // The watcher is live: a watched save after them reloads, naming that file alone.
    const banner = path.join(root, 'app', 'banner.py');
    save(banner, `${fs.readFileSync(banner, 'utf8')}# touched\n`);
    await server.waitOutput(/reloaded in \d+ ms \(app\/banner\.py\)/, 1);
    assert.equal(reloads(), before + 1, server.output());
  });

  it('[tool.heavy.serve] watch adds files: a changed app/banner.txt reloads, and the new version reads it', async () => {
    assert.deepEqual(JSON.parse((await get(server.port, '/banner')).body), { banner: 'banner v1' });
    const before = reloads();
    save(path.join(root, 'app', 'banner.txt'), 'banner v2\n');
    await server.waitOutput(/reloaded in \d+ ms \(app\/banner\.txt\)/, 1);
    assert.equal(reloads(), before + 1);
    assert.deepEqual(JSON.parse((await get(server.port, '/banner')).body), { banner: 'banner v2' });
  });

  it('a changed requirements file rebuilds the warm parent on the same socket, serving the current code', async () => {
    save(path.join(root, 'app', 'banner.txt'), 'banner v3\n');
    await server.waitOutput(/reloaded in \d+ ms \(app\/banner\.txt\)/, 2);
    save(path.join(root, 'requirements.txt'), `${fs.readFileSync(path.join(root, 'requirements.txt'), 'utf8')}\n# pinned again\n`);
    await server.waitOutput(/requirements\.txt: installed packages may have changed, rebuilding the warm parent/, 1);
    await server.waitOutput(/serving app\.main:app on http:\/\/127\.0\.0\.1/, 2, 60000);
    assert.equal(server.child.exitCode, null, 'the CLI is still running');
    assert.deepEqual(JSON.parse((await get(server.port, '/banner')).body), { banner: 'banner v3' });
    // And it reloads as before.
    save(path.join(root, 'app', 'banner.txt'), 'banner v4\n');
    await server.waitOutput(/reloaded in \d+ ms \(app\/banner\.txt\)/, 3);
    assert.deepEqual(JSON.parse((await get(server.port, '/banner')).body), { banner: 'banner v4' });
  });

  it('a package install (a new .dist-info in site-packages) rebuilds the warm parent too', async () => {
    const site = fs.readdirSync(path.join(EXAMPLE, '.venv', 'lib')).map((v) => path.join(EXAMPLE, '.venv', 'lib', v, 'site-packages')).find((d) => fs.existsSync(d))!;
    // What pip leaves at the top of site-packages; removed again below.
    const distInfo = path.join(site, `heavy_trigger_probe-${process.pid}.dist-info`);
    const rebuilds = (server.output().match(/rebuilding the warm parent/g) ?? []).length;
    try {
      fs.mkdirSync(distInfo);
      fs.writeFileSync(path.join(distInfo, 'METADATA'), 'Metadata-Version: 2.1\nName: heavy-trigger-probe\nVersion: 1.0\n');
      await server.waitOutput(/heavy_trigger_probe-\d+\.dist-info: installed packages may have changed, rebuilding the warm parent/, 1);
      await server.waitOutput(/serving app\.main:app on http:\/\/127\.0\.0\.1/, 3, 60000);
      assert.equal((server.output().match(/rebuilding the warm parent/g) ?? []).length, rebuilds + 1);
      assert.deepEqual(JSON.parse((await get(server.port, '/banner')).body), { banner: 'banner v4' });
    } finally {
      fs.rmSync(distInfo, { recursive: true, force: true });
    }
  });
});
