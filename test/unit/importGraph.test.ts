import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { affectedTests, buildImportGraph, parseImports, updateImportGraph } from '../../daemon/tests/importGraph';
import { RunImports } from '../../daemon/tests/runImports';
import { newTree } from '../helpers/project';

describe('import graph (heavy watch)', () => {
  it('parses absolute, relative, aliased and parenthesised imports', () => {
    const source = [
      'import os, app.models as m',
      'from . import helpers',
      'from ..core.db import (',
      '    engine,',
      '    Session,',
      ')',
      'from app.logic import slugify  # comment',
      '    import json  # indented, inside a function',
    ].join('\n');
    const found = parseImports(source, ['pkg', 'sub']);
    for (const name of ['os', 'app.models', 'pkg.sub.helpers', 'pkg.core.db', 'pkg.core.db.engine', 'app.logic', 'app.logic.slugify', 'json']) {
      assert.ok(found.includes(name), `${name} in ${found.join(', ')}`);
    }
  });

  it('selects the test modules that import a changed file, transitively, and through conftest', () => {
    const root = newTree({
      'app/__init__.py': '',
      'app/logic.py': 'def f(): pass\n',
      'app/models.py': 'from .logic import f\n',
      'app/other.py': '',
      'tests/conftest.py': 'from app.models import *\n',
      'tests/test_logic.py': 'from app.logic import f\n',
      'tests/test_models.py': 'import app.models\n',
      'tests/unit/test_other.py': 'from app import other\n',
      'tests/unit/conftest.py': '',
    });
    const graph = buildImportGraph(root);
    const rel = (files: string[] | 'all') => (files === 'all' ? files : files.map((f) => path.relative(root, f)));
    // conftest imports models, which imports logic: every test under tests/ sees logic.
    assert.deepEqual(rel(affectedTests(graph, [path.join(root, 'app/logic.py')])),
      ['tests/test_logic.py', 'tests/test_models.py', 'tests/unit/test_other.py']);
    assert.deepEqual(rel(affectedTests(graph, [path.join(root, 'app/other.py')])), ['tests/unit/test_other.py']);
    assert.deepEqual(rel(affectedTests(graph, [path.join(root, 'tests/unit/conftest.py')])), ['tests/unit/test_other.py']);
    assert.deepEqual(rel(affectedTests(graph, [path.join(root, 'tests/test_logic.py')])), ['tests/test_logic.py']);
    assert.equal(affectedTests(graph, [path.join(root, 'data.json')]), 'all');

    // An edit that adds an import is seen after re-reading only that file.
    fs.writeFileSync(path.join(root, 'tests/unit/test_other.py'), 'from app import other\nimport app.logic\n');
    fs.writeFileSync(path.join(root, 'tests/test_logic.py'), 'X = 1\n');
    updateImportGraph(graph, root, [path.join(root, 'tests/unit/test_other.py'), path.join(root, 'tests/test_logic.py')]);
    assert.deepEqual(rel(affectedTests(graph, [path.join(root, 'app/other.py')])), ['tests/unit/test_other.py']);
    assert.deepEqual(rel(affectedTests(graph, [path.join(root, 'app/models.py')])),
      ['tests/test_logic.py', 'tests/test_models.py', 'tests/unit/test_other.py']);
    fs.writeFileSync(path.join(root, 'tests/conftest.py'), '');
    updateImportGraph(graph, root, [path.join(root, 'tests/conftest.py')]);
    assert.deepEqual(rel(affectedTests(graph, [path.join(root, 'app/models.py')])), ['tests/test_models.py']);
  });

  it('adds what runs imported to the static graph: importlib in a fixture, imports inside functions', () => {
    const root = newTree({
      'app/__init__.py': '',
      'app/plugins.py': 'from app import helpers\n',
      'app/helpers.py': '',
      'app/loader.py': '',
      'tests/test_plugins.py': 'import importlib\n\ndef test_x():\n    importlib.import_module("app.plugins")\n',
      'tests/test_other.py': 'import app.loader\n',
    });
    const graph = buildImportGraph(root);
    const at = (rel: string) => path.join(root, rel);
    const rel = (files: string[] | 'all') => (files === 'all' ? files : files.map((f) => path.relative(root, f)));
    // The static graph cannot see a name passed to importlib.
    assert.deepEqual(rel(affectedTests(graph, [at('app/plugins.py')])), []);
    const imports = new RunImports(root);
    imports.record({ [at('tests/test_plugins.py')]: [at('app/__init__.py'), at('app/plugins.py'), at('tests/test_plugins.py')] });
    assert.deepEqual(rel(affectedTests(graph, [at('app/plugins.py')], imports.edges)), ['tests/test_plugins.py']);
    // Through the static edges of what it loaded: plugins imports helpers.
    assert.deepEqual(rel(affectedTests(graph, [at('app/helpers.py')], imports.edges)), ['tests/test_plugins.py']);
    assert.deepEqual(rel(affectedTests(graph, [at('app/loader.py')], imports.edges)), ['tests/test_other.py']);
    // A file's own change still selects it, and nothing else.
    assert.deepEqual(rel(affectedTests(graph, [at('tests/test_plugins.py')], imports.edges)), ['tests/test_plugins.py']);

    // A later run that saw only part of the file (-k, --collect-only) does not make it forget the rest.
    imports.record({ [at('tests/test_plugins.py')]: [at('app/__init__.py')] });
    assert.deepEqual(rel(affectedTests(graph, [at('app/plugins.py')], imports.edges)), ['tests/test_plugins.py']);
    // The graph rebuilt (a file added) keeps what runs imported: it lives beside the graph.
    fs.writeFileSync(at('app/new.py'), '');
    assert.deepEqual(rel(affectedTests(buildImportGraph(root), [at('app/plugins.py')], imports.edges)), ['tests/test_plugins.py']);
    // A deleted test file is not selected from what it once imported.
    fs.rmSync(at('tests/test_plugins.py'));
    assert.deepEqual(rel(affectedTests(buildImportGraph(root), [at('app/plugins.py')], imports.edges)), []);
  });

  it('maps the real paths Python reports to the root as the graph spells it', () => {
    const real = newTree({ 'app/__init__.py': '', 'app/plugins.py': '', 'tests/test_p.py': '' });
    const link = path.join(os.tmpdir(), `heavy-link-${process.pid}-${Date.now()}`);
    fs.symlinkSync(real, link);
    try {
      const graph = buildImportGraph(link);
      const imports = new RunImports(link);
      const realRoot = fs.realpathSync(real);
      imports.record({ [path.join(realRoot, 'tests/test_p.py')]: [path.join(realRoot, 'app/plugins.py')] });
      assert.deepEqual(affectedTests(graph, [path.join(link, 'app/plugins.py')], imports.edges), [path.join(link, 'tests/test_p.py')]);
    } finally {
      fs.rmSync(link);
    }
  });
});
