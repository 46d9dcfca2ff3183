import * as assert from 'node:assert/strict';
import { keyPosition } from '../../extension/configHelp/keyPosition';

const TEXT = `[project]
name = "x"

[tool.heavy]  # ours
app = "app.main:app"

[tool.heavy.tests]
workers = "two"
`;

describe('configuration errors: where they point', () => {
  it('at the offending key inside its table', () => {
    assert.deepEqual(keyPosition(TEXT, 'tool.heavy.tests.workers', 'wrong type'), { line: 7, column: 0 });
  });

  it('at the table header when the key is not written there (a missing or unknown table)', () => {
    assert.deepEqual(keyPosition(TEXT, 'tool.heavy.tests', 'x'), { line: 6, column: 0 });
    assert.deepEqual(keyPosition(TEXT, 'tool.heavy.nope.key', 'x'), { line: 3, column: 0 });
  });

  it('at the line and column a TOML syntax error names', () => {
    assert.deepEqual(keyPosition(TEXT, undefined, 'pyproject.toml (line 5, column 3): not valid TOML'), { line: 4, column: 2 });
  });

  it('at the top when there is nothing better', () => {
    assert.deepEqual(keyPosition(TEXT, undefined, 'x'), { line: 0, column: 0 });
  });
});
