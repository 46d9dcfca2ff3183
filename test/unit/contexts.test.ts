import * as assert from 'node:assert/strict';
import { contextKey, mismatch, modulesIn, readNames, shadowed, type RunContext, type StartupRule } from '../../daemon/server/contexts';

const ctx = (env: Record<string, string>, cwd = '/p', argv = ['m', '-q']): RunContext => ({ env, cwd, argv });
const startup: StartupRule = { prefixes: ['PYTHON', 'LC_'], names: ['LANG', 'TZ'], except: ['PYTHONWARNINGS'] };

describe('which warm level may serve a run', () => {
  it('matches variables read by name, set or unset, and nothing else', () => {
    const reads = { env: { DATABASE_URL: 'sqlite:///a.db', FEE_PERCENT: null } };
    assert.equal(mismatch(reads, ctx({ DATABASE_URL: 'sqlite:///a.db', OLDPWD: '/x', _: '/usr/bin/heavy' })), undefined);
    assert.match(mismatch(reads, ctx({ DATABASE_URL: 'sqlite:///b.db' }))!, /DATABASE_URL/);
    assert.match(mismatch(reads, ctx({ DATABASE_URL: 'sqlite:///a.db', FEE_PERCENT: '3' }))!, /FEE_PERCENT/);
    assert.match(mismatch(reads, ctx({}))!, /DATABASE_URL/);
  });

  it('counts the whole environment once an import listed it', () => {
    const reads = { env: {}, allEnv: { A: '1', OLDPWD: '/x' } };
    assert.equal(mismatch(reads, ctx({ A: '1', OLDPWD: '/x' })), undefined);
    assert.ok(mismatch(reads, ctx({ A: '1', OLDPWD: '/y' })));
    assert.ok(mismatch(reads, ctx({ A: '1' })));
    assert.ok(mismatch(reads, ctx({ A: '1', OLDPWD: '/x', B: '2' })));
    assert.deepEqual(readNames(reads), ['*']);
  });

  it('checks the folder and argv only when they were read', () => {
    assert.equal(mismatch({ env: {} }, ctx({}, '/elsewhere', ['m', '-x'])), undefined);
    assert.ok(mismatch({ env: {}, cwd: '/p' }, ctx({}, '/elsewhere')));
    assert.ok(mismatch({ env: {}, argv: ['m', '-q'] }, ctx({}, '/p', ['m', '-x'])));
    assert.equal(mismatch({ env: {}, argv: ['m', '-q'] }, ctx({})), undefined);
  });

  it('keys level 0 on every interpreter start-up variable, even one it never saw', () => {
    const reads = { env: { LANG: 'C.UTF-8' } };
    assert.equal(mismatch(reads, ctx({ LANG: 'C.UTF-8', PYTHONWARNINGS: 'error' }), startup), undefined);
    assert.match(mismatch(reads, ctx({ LANG: 'C.UTF-8', PYTHONHASHSEED: '0' }), startup)!, /PYTHONHASHSEED/);
    assert.match(mismatch(reads, ctx({ LANG: 'C.UTF-8', LC_ALL: 'C' }), startup)!, /LC_ALL/);
    assert.equal(mismatch(reads, ctx({ LANG: 'C.UTF-8', PYTHONHASHSEED: '0' })), undefined, 'levels above 0 have no start-up rule');
  });

  it('finds a module in the run\'s folder that would shadow one a level imported', () => {
    const provided = modulesIn(['json.py', 'pkg/', 'notes.txt', 'fast.cpython-311-x86_64-linux-gnu.so', 'data/']);
    assert.deepEqual([...provided].sort(), ['data', 'fast', 'json', 'pkg']);
    assert.equal(shadowed(['pytest', 'json'], provided), 'json');
    assert.equal(shadowed(['pytest', 'sqlalchemy'], provided), undefined);
  });

  it('gives equal contexts one key whatever the order of the environment', () => {
    assert.equal(contextKey(ctx({ A: '1', B: '2' })), contextKey(ctx({ B: '2', A: '1' })));
    assert.notEqual(contextKey(ctx({ A: '1' })), contextKey(ctx({ A: '1' }, '/q')));
  });
});
