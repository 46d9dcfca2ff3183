import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startAppServer } from '../../daemon/record/appServer';
import { REDACTED } from '../../daemon/record/redact';
import { heavyAsync, liveExample, request, startRecorder, validHar } from './helpers';

// Uploads: a multipart form with a file and a password, and a raw binary body. They are
// recorded byte for byte (base64, since HAR's postData is text), the password redacted,
// and replay sends the same bytes, the password filled from [tool.heavy.record.credentials].

const BOUNDARY = '----heavyBoundary7MA4YWxk';
const FILE = Buffer.from(Array.from({ length: 256 }, (_, i) => i));  // every byte value, NUL and \r\n included
const multipart = (password: string) => Buffer.concat([
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="user"\r\n\r\nada\r\n`),
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="password"\r\n\r\n${password}\r\n`),
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="photo"; filename="p.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
  FILE,
  Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('heavy record and replay: binary and multipart request bodies', function () {
  this.timeout(180000);
  let root: string;
  let har: string;
  before(async () => {
    root = liveExample();
    fs.appendFileSync(path.join(root, 'pyproject.toml'), '\n[tool.heavy.record.credentials]\nfields = { password = "${UPLOAD_PASSWORD}" }\n');
    har = path.join(root, 'uploads.har');
    const rec = await startRecorder(root, ['--out', har]);
    const form = await request(`${rec.url}/upload`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body: multipart('hunter2') });
    assert.equal(form.status, 200, form.body);
    const raw = await request(`${rec.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: FILE });
    assert.equal(raw.status, 200, raw.body);
    rec.child.kill('SIGINT');
    assert.equal(await rec.exited, 0, rec.output());
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('records them byte for byte in valid HAR, the multipart password redacted and the file untouched', async () => {
    const doc = await validHar(har);
    const [form, raw] = doc.log.entries.filter((e) => e.request.url.endsWith('/upload'));
    assert.equal(form.request.postData?._encoding, 'base64');
    const formBytes = Buffer.from(form.request.postData!.text, 'base64');
    assert.ok(!formBytes.includes('hunter2'), 'the password is not in the recording');
    assert.deepEqual(formBytes, multipart(REDACTED));
    assert.equal(raw.request.postData?._encoding, 'base64');
    assert.deepEqual(Buffer.from(raw.request.postData!.text, 'base64'), FILE);
  });

  it('replays the same bytes, the password filled in', async () => {
    const app = await startAppServer(root, { purpose: 'replay', stdio: 'pipe' });
    try {
      await app.ready();
      const target = `http://${app.host}:${app.port}`;
      const r = await heavyAsync(['replay', har, '--root', root, '--target', target, '--json'], root, { UPLOAD_PASSWORD: 'hunter2' });
      assert.equal(r.code, 0, r.out);
      const seen = JSON.parse((await request(`${target}/uploads`)).body) as { sha256: string; size: number }[];
      assert.deepEqual(seen, [
        { sha256: sha(multipart('hunter2')), size: multipart('hunter2').length },
        { sha256: sha(FILE), size: FILE.length },
      ]);
    } finally {
      await app.stop();
    }
  });
});
