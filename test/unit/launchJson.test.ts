import * as assert from 'node:assert/strict';
import { parse } from 'jsonc-parser';
import { LaunchJsonError, mergeLaunchJson } from '../../extension/profiles/launchJson';

const entries = [
  { name: 'Run Server', type: 'heavy', request: 'launch', profile: 'run-server' },
  { name: 'Pave DB', type: 'heavy', request: 'launch', profile: 'pave-db' },
];

describe('merging profiles into launch.json', () => {
  it('creates a launch.json when there is none', () => {
    const r = mergeLaunchJson(undefined, entries);
    assert.deepEqual(parse(r.text), { version: '0.2.0', configurations: entries });
    assert.deepEqual(r.added, ['Run Server', 'Pave DB']);
  });

  it('keeps comments and the user\'s entries, and skips profiles already there (even renamed)', () => {
    const text = '{\n  // mine\n  "version": "0.2.0",\n  "configurations": [\n    {"name": "Srv", "type": "heavy", "request": "launch", "profile": "run-server"}, // renamed\n  ]\n}\n';
    const r = mergeLaunchJson(text, entries);
    assert.match(r.text, /\/\/ mine/);
    assert.match(r.text, /\/\/ renamed/);
    assert.deepEqual(r.added, ['Pave DB']);
    assert.deepEqual(r.alreadyPresent, ['Run Server']);
    assert.deepEqual(parse(r.text, [], { allowTrailingComma: true }).configurations.map((c: any) => c.name), ['Srv', 'Pave DB']);
    assert.equal(mergeLaunchJson(r.text, entries).text, r.text);
  });

  it('adds "configurations" when the file lacks it', () => {
    const r = mergeLaunchJson('{ "version": "0.2.0", "compounds": [] }', entries);
    assert.deepEqual(parse(r.text).compounds, []);
    assert.equal(parse(r.text).configurations.length, 2);
  });

  it('refuses broken JSON instead of overwriting it', () => {
    assert.throws(() => mergeLaunchJson('{ "configurations": [ { ] }', entries), (e: unknown) => e instanceof LaunchJsonError && /line 1/.test(e.message));
    assert.throws(() => mergeLaunchJson('{ "configurations": {} }', entries), /not a list/);
  });
});
