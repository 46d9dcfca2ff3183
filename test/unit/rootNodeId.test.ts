import * as assert from 'node:assert/strict';
import { rootNodeId } from '../../extension/testing/nodeIds';

describe('node ids of a terminal run\'s arguments (Testing view)', () => {
  it('turns test files and node ids given from a folder into root-relative node ids', () => {
    assert.equal(rootNodeId('tests/test_logic.py::test_slugify', '/p', '/p'), 'tests/test_logic.py::test_slugify');
    assert.equal(rootNodeId('test_logic.py::TestA::test_b[x::y]', '/p/tests', '/p'), 'tests/test_logic.py::TestA::test_b[x::y]');
    assert.equal(rootNodeId('tests/', '/p', '/p'), 'tests');
  });

  it('ignores options, the root itself and paths outside the project', () => {
    assert.equal(rootNodeId('-q', '/p', '/p'), undefined);
    assert.equal(rootNodeId('--deselect=tests/test_a.py::t', '/p', '/p'), undefined);
    assert.equal(rootNodeId('.', '/p', '/p'), undefined);
    assert.equal(rootNodeId('../other/test_x.py', '/p', '/p'), undefined);
  });
});
