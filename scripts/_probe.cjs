const net = require('net');
const rpc = require('vscode-jsonrpc/node');
const sock = net.connect(process.argv[2]);
sock.on('connect', async () => {
  const c = rpc.createMessageConnection(new rpc.StreamMessageReader(sock), new rpc.StreamMessageWriter(sock));
  c.listen();
  await c.sendRequest('initialize', { processId: null, capabilities: {} });
  const args = JSON.parse(process.argv[3] || '["-q","tests/test_logic.py::test_slugify"]');
  for (let i = 0; i < Number(process.argv[4] || 6); i++) {
    const t = performance.now();
    const r = await c.sendRequest('heavy/runTests', { runId: 'x' + Math.random(), args, cwd: '/tmp/pb' });
    console.log((performance.now() - t).toFixed(0), 'ms exit', r.exitCode, 'primed', r.primed, r.results.map((x) => x.outcome).join(','));
    await new Promise((r) => setTimeout(r, 300));
  }
  c.dispose(); sock.destroy();
});
