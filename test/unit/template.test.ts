import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { expandArgs, loadTemplates, parseTemplate } from '../../daemon/profiles/template';

describe('launch templates', () => {
  it('splices list variables and substitutes strings', () => {
    const vars = { app: 'a.b:app', port: '8000', extra: ['--log-level', 'debug'], none: [] };
    assert.deepEqual(expandArgs(['${app}', '--port=${port}', '${extra...}', '${none...}'], vars),
      ['a.b:app', '--port=8000', '--log-level', 'debug']);
  });

  it('refuses undefined variables and lists used as strings', () => {
    assert.throws(() => expandArgs(['${nope}'], {}), /"nope" is not defined/);
    assert.throws(() => expandArgs(['x${extra}'], { extra: ['a'] }), /is a list/);
  });

  it('ships six valid templates in order', () => {
    const templates = loadTemplates(path.join(__dirname, '../../launch-templates'));
    assert.deepEqual(templates.map((t) => t.name),
      ['Hot Reload Server', 'Run Server', 'Record Traffic', 'Test Daemon', 'Pave DB', 'Create and Test Migrations']);
  });

  it('rejects a template with both module and program', () => {
    const bad = JSON.stringify({ id: 'x', name: 'X', order: 1, requires: [], run: { any: { module: 'm', program: 'p', args: [] } }, debug: {} });
    assert.throws(() => parseTemplate(bad, 'x.json'), /x\.json: run\.any needs exactly one of "module" or "program"/);
  });
});
