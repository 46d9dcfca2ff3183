import * as assert from 'node:assert/strict';
import type { FileCoverageData } from '../../daemon/protocol';
import { lineDetails, lineDetailsForTest, linesForTest, summarize, testsOf } from '../../extension/testing/coverageData';

// What the daemon sends for the example's app/logic.py after `tests/test_logic.py`, per test.
const logic: FileCoverageData = {
  file: '/p/app/logic.py',
  statements: [5, 1, 2, 6],
  executed: [1, 2, 5, 6],
  tests: {
    '2': ['tests/test_logic.py::test_slugify', 'tests/test_logic.py::test_slugify_punctuation'],
    '6': ['tests/test_logic.py::test_word_count[-0]', 'tests/test_logic.py::test_word_count[one-1]'],
  },
};

const branchy: FileCoverageData = {
  file: '/p/app/rules.py',
  statements: [1, 2, 3, 4, 6],
  executed: [1, 2, 3, 6],
  branches: { '2': [2, 1], '6': [2, 2] },
};

describe('coverage conversion (Testing view)', () => {
  it('names where each branch goes when coverage.py tells it, exits included', () => {
    const data: FileCoverageData = { ...branchy, branchTargets: { '2': [[3, true], [4, false]], '6': [[7, true], [-1, true]] } };
    const details = lineDetails(data);
    assert.deepEqual(details[1].targets, [
      { to: 3, taken: true, label: 'line 2 jumped to line 3' },
      { to: 4, taken: false, label: 'line 2 never jumped to line 4' },
    ]);
    assert.deepEqual(details[4].targets?.map((t) => [t.to, t.label]), [[7, 'line 6 jumped to line 7'], [undefined, 'line 6 exited the function']]);
    assert.equal(lineDetails(branchy)[1].targets, undefined, 'an older coverage.py: counts only');
  });

  it('counts statements covered and total', () => {
    assert.deepEqual(summarize(logic).statements, { covered: 4, total: 4 });
    assert.deepEqual(summarize(branchy).statements, { covered: 4, total: 5 });
  });

  it('counts branches only when the run measured them', () => {
    assert.equal(summarize(logic).branches, undefined);
    assert.deepEqual(summarize(branchy).branches, { covered: 3, total: 4 });
    assert.equal(summarize({ ...branchy, branches: {} }).branches, undefined, 'no branch points: no branch count');
  });

  it('lists every executable line in order, with whether it ran and its branches', () => {
    assert.deepEqual(lineDetails(branchy), [
      { line: 1, executed: true },
      { line: 2, executed: true, branches: { total: 2, taken: 1 } },
      { line: 3, executed: true },
      { line: 4, executed: false },
      { line: 6, executed: true, branches: { total: 2, taken: 2 } },
    ]);
    assert.deepEqual(lineDetails(logic).map((l) => l.line), [1, 2, 5, 6]);
  });

  it('per test: only the lines that test ran, not import-time lines nor other tests\' lines', () => {
    assert.deepEqual(linesForTest(logic, 'tests/test_logic.py::test_slugify'), [2]);
    assert.deepEqual(linesForTest(logic, 'tests/test_logic.py::test_word_count[one-1]'), [6]);
    assert.deepEqual(linesForTest(logic, 'tests/test_logic.py::test_word_count'), [], 'a node id matches exactly, never by prefix');
    assert.deepEqual(lineDetailsForTest(logic, 'tests/test_logic.py::test_slugify'), [{ line: 2, executed: true }]);
    assert.deepEqual(linesForTest(branchy, 'tests/test_rules.py::test_x'), [], 'no per-test data: nothing');
  });

  it('names the tests that ran a file, once each, sorted', () => {
    assert.deepEqual(testsOf(logic), [
      'tests/test_logic.py::test_slugify',
      'tests/test_logic.py::test_slugify_punctuation',
      'tests/test_logic.py::test_word_count[-0]',
      'tests/test_logic.py::test_word_count[one-1]',
    ]);
    assert.deepEqual(summarize(logic).tests, testsOf(logic));
    assert.deepEqual(testsOf(branchy), []);
  });
});
