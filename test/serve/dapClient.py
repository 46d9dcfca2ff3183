"""A minimal DAP client for test/serve/debug.test.ts: attaches to debugpy running heavy_serve.py, follows each
forked server process (debugpyAttach, as VS Code does with subProcess), and hits a breakpoint in a route before
and after a reload. Usage: dapClient.py ROOT PORT DEBUG_PORT PYTHON HEAVY_SERVE_PY"""
import json, socket, subprocess, sys, threading, time, urllib.request, os, re, queue
root, port, dport, py, serve = sys.argv[1:6]
main = os.path.join(root, "app", "main.py")
line = next(i + 1 for i, l in enumerate(open(main)) if "message = greeting()" in l)
events = queue.Queue()
class Conn:
    def __init__(self, name):
        self.name = name; self.seq = 0
        for _ in range(100):
            try: self.s = socket.create_connection(("127.0.0.1", int(dport))); break
            except OSError: time.sleep(0.1)
        threading.Thread(target=self.read, daemon=True).start()
    def send(self, command, **args):
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": args}).encode()
        self.s.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    def read(self):
        f = self.s.makefile("rb")
        while True:
            h = f.readline()
            if not h: return
            n = int(h.split(b":")[1]); f.readline()
            m = json.loads(f.read(n))
            if m["type"] == "event": events.put((self, m))
def configure(c, attach):
    c.send("initialize", adapterID="debugpy", clientID="t", pathFormat="path", linesStartAt1=True, columnsStartAt1=True, supportsRunInTerminalRequest=False)
    c.send("attach", **attach)
    c.send("setBreakpoints", source={"path": main}, breakpoints=[{"line": line}])
    c.send("configurationDone")
p = subprocess.Popen([py, "-m", "debugpy", "--listen", f"127.0.0.1:{dport}", "--wait-for-client", serve, "--root", root, "--app", "app.main:app", "--framework", "fastapi", "--port", port], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
out = []
threading.Thread(target=lambda: [out.append(l) for l in p.stdout], daemon=True).start()
configure(Conn("parent"), {"justMyCode": True, "subProcess": True})
def request(result):
    try: result.append(urllib.request.urlopen(f"http://127.0.0.1:{port}/hello", timeout=60).read().decode())
    except Exception as e: result.append(repr(e))
def wait_stop(deadline):
    while time.time() < deadline:
        try: c, m = events.get(timeout=0.5)
        except queue.Empty: continue
        if m["event"] == "debugpyAttach":
            configure(Conn("child"), m["body"])
        elif m["event"] == "stopped":
            return c, m
    raise SystemExit("no stop\n" + "".join(out))
def until(pattern, n=1):
    d = time.time() + 60
    while len([l for l in out if re.search(pattern, l)]) < n:
        try: c, m = events.get(timeout=0.2)
        except queue.Empty: c = None
        if c and m["event"] == "debugpyAttach": configure(Conn("child"), m["body"])
        if time.time() > d: raise SystemExit("timeout " + pattern + "\n" + "".join(out))
until("serving app")
for round in (1, 2):
    res = []
    threading.Thread(target=request, args=(res,)).start()
    c, m = wait_stop(time.time() + 60)
    c.send("stackTrace", threadId=m["body"]["threadId"], levels=1)
    print(f"round {round}: stopped at breakpoint ({m['body']['reason']}) line {line}", flush=True)
    c.send("continue", threadId=m["body"]["threadId"])
    time.sleep(1); print("  response:", res, flush=True)
    if round == 1:
        src = open(main).read().replace('return {"message": message}', 'return {"message": "reloaded"}')
        open(main, "w").write(src)
        until("reloaded in")
        print("  " + [l for l in out if "reloaded in" in l][0].strip(), flush=True)
os.killpg(p.pid, 2); p.wait(10)
print("exit", p.returncode)
