import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { daemonPaths, rootId } from '../../daemon/server/paths';

describe('daemon paths', () => {
  it('name a project by its resolved root: stable, short, and distinct', () => {
    assert.match(rootId('/home/ann/shop'), /^[0-9a-f]{16}$/);
    assert.equal(rootId('/home/ann/shop'), rootId('/home/ann/shop/'));
    assert.equal(rootId('/home/ann/shop'), rootId('/home/ann/shop/api/..'));
    assert.equal(rootId(path.relative(process.cwd(), '/home/ann/shop')), rootId('/home/ann/shop'));
    const ids = new Set(['/home/ann/shop', '/home/ann/shop2', '/home/ann/Shop', '/home/bob/shop', '/home/ann/café', '/home/ann/cafe'].map(rootId));
    assert.equal(ids.size, 6);
  });

  it('keeps the sockets in a folder only the user can open', () => {
    const paths = daemonPaths('/home/ann/shop');
    assert.equal(path.dirname(paths.socket), paths.dir);
    assert.ok(paths.socket.includes(rootId('/home/ann/shop')));
    if (process.platform !== 'win32') assert.equal(fs.statSync(paths.dir).mode & 0o077, 0);
  });
});
