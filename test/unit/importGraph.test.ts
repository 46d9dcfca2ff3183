import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { affectedTests, buildImportGraph, parseImports, updateImportGraph } from '../../daemon/tests/importGraph';
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
});
