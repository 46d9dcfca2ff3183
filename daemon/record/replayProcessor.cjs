// heavy replay's Artillery processor: copied next to every script heavy replay writes or
// exports (config.processor), so `artillery run load.yml` needs nothing else. Plain CommonJS
// with no dependency of its own: Artillery require()s it from wherever the script is, where
// Heavy Dev's node_modules are not. The data it works from (each session's WebSockets, the
// duration) is in the script, under the scenario's "heavy" key; this file is the same for
// every recording.
'use strict';

const { createRequire } = require('node:module');

// Which recorded session the next virtual user plays. Artillery runs an arrivalCount phase in
// one worker (artillery/lib/dist.js gives the others a pause), so this one counter sees every
// arrival: users x sessions arrivals play each session exactly `users` times, whatever the
// random weighted pick of scenarios would have done.
let arrivals = 0;

function heavyStart(context, events, done) {
  const plan = context.scenario.heavy;
  const session = arrivals++ % plan.sessions.length;
  context.vars.heavySession = session;
  // `loop: ..., over: heavyPlays[k]` runs session k's steps once for its own users, never for others.
  context.vars.heavyPlays = plan.sessions.map((_, k) => (k === session ? [k] : []));
  context.heavySockets = [];
  // Recorded text that looks like a template, sent as it is through a variable of its own (artillery.ts literal()).
  (plan.literals || []).forEach((text, i) => { context.vars[`heavyLiteral${i}`] = text; });
  return done();
}

/** Before each pass over the session: the deadline is set by the first, sockets are counted per pass. */
function heavyPass(context, events, done) {
  const plan = context.scenario.heavy;
  if (context.vars.heavyDeadline === undefined) context.vars.heavyDeadline = Date.now() + (plan.duration || 0) * 1000;
  context.vars.heavySocket = 0;
  return done();
}

/** whileTrue of the pass loop: another pass only while the user's --duration has not run out. */
function heavyAgain(context, next) {
  return next(Date.now() < context.vars.heavyDeadline);
}

// {{ name }} and {{ $processEnvironment.NAME }} as Artillery's own templates resolve them:
// WebSocket handshakes and messages are sent from here, not by Artillery's engine.
function resolve(text, vars) {
  return text.replace(/{{\s*([$\w.]+)\s*}}/g, (whole, name) => {
    let value = vars;
    for (const part of name.split('.')) value = value == null ? undefined : value[part];
    return value == null ? '' : String(value);
  });
}

function resolveDeep(value, vars) {
  if (typeof value === 'string') return resolve(value, vars);
  if (Array.isArray(value)) return value.map((v) => resolveDeep(v, vars));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDeep(v, vars)]));
  return value;
}

/**
 * beforeRequest of a body holding credentials where Artillery's json/form cannot carry them (a
 * truncated JSON body, a form with repeated keys): the recorded text as it is, each credential
 * resolved and then JSON-escaped or URL-encoded. Binary and multipart bodies come as base64
 * parts (a credential in a multipart field as it is). A Buffer, which Artillery does not expand.
 */
function heavyBody(requestParams, context, events, done) {
  const parts = requestParams.heavyBody || [];
  delete requestParams.heavyBody;  // not an option the HTTP client knows
  requestParams.body = Buffer.concat(parts.map((part) => {
    if (typeof part === 'string') return Buffer.from(part);
    if (part.base64 !== undefined) return Buffer.from(part.base64, 'base64');
    const value = resolve(part.fill, context.vars);
    return Buffer.from(part.as === 'json' ? JSON.stringify(value) : part.as === 'raw' ? String(value) : encodeURIComponent(value));
  }));
  return done();
}

/**
 * The same class of answer as recorded (2xx, 3xx, 4xx), or a counter naming the status and
 * the route, which the report counts as an error. 5xx are errors already. A 304 and a 200
 * are the same answer (the browser's cache decided which it got).
 */
function heavyCheck(requestParams, response, context, events, done) {
  const recorded = requestParams.heavyStatus;
  const got = response.statusCode;
  if (recorded && got && got < 500 && statusClass(recorded) !== statusClass(got)) {
    events.emit('counter', `heavy.unexpected.${got}.${requestParams.name || requestParams.url}`, 1);
  }
  return done();
}

function statusClass(code) {
  return code === 304 ? 2 : Math.floor(code / 100);
}

/** beforeRequest: the redacted query parameters, filled and URL-encoded, after the recorded query. */
function heavyQuery(requestParams, context, events, done) {
  const extra = requestParams.heavyQuery || [];
  delete requestParams.heavyQuery;  // not an option the HTTP client knows
  if (extra.length) {
    const added = extra.map((p) => `${p.key}=${encodeURIComponent(resolve(p.fill, context.vars))}`).join('&');
    requestParams.url += (requestParams.url.includes('?') ? '&' : '?') + added;
  }
  return done();
}

let WebSocketClass;
function loadWs() {
  if (WebSocketClass) return WebSocketClass;
  // Artillery ships ws (its own WebSocket engine uses it); a processor outside Artillery's
  // tree resolves it through a module Artillery has already loaded.
  const bases = [__filename, ...Object.keys(require.cache).filter((f) => /[\\/]node_modules[\\/](artillery|@artilleryio[\\/]int-core)[\\/]/.test(f))];
  for (const base of bases) {
    try {
      WebSocketClass = createRequire(base)('ws');
      return WebSocketClass;
    } catch { /* next */ }
  }
  throw new Error('the "ws" package Artillery ships with was not found');
}

/**
 * Opens the pass's next recorded WebSocket where the recording opened it, among the HTTP
 * steps. The flow goes on once the handshake is answered (so the requests recorded after the
 * socket opened reach the app after it, in recorded order), while the socket plays its sends
 * with the recorded pauses beside them, as the browser did; heavyWaitSockets at the end of
 * the pass waits for it to finish.
 */
function heavySocket(context, events, done) {
  const plan = context.scenario.heavy;
  const spec = plan.sessions[context.vars.heavySession].sockets[context.vars.heavySocket++];
  const target = String(context.vars.target).replace(/\/$/, '');
  const url = target.replace(/^http/, 'ws') + spec.path;
  const headers = resolveDeep(spec.headers || {}, context.vars);
  // The handshake carries the user's cookies, as a browser's does.
  try {
    const cookies = context._jar && context._jar.getCookieStringSync(target + spec.path);
    if (cookies) headers.cookie = cookies;
  } catch { /* no jar yet: no cookies */ }
  // A handshake that fails ends the user, as a refused HTTP request does (Artillery counts the
  // error and the failed user); going on would replay the session against a dead server in a
  // tight loop under --duration. Errors after the handshake are counted and the user goes on.
  let answered = false;
  const handshakeDone = (err) => {
    if (answered) {
      if (err) events.emit('error', err.message);
      return;
    }
    answered = true;
    done(err);
  };
  const finished = new Promise((resolveFinished) => {
    let ws;
    try {
      const WebSocket = loadWs();
      // As Artillery's HTTP timeout: a handshake nobody answers must not hold the user (and the run) forever.
      ws = new WebSocket(url, spec.protocols || [], { headers, handshakeTimeout: 30000 });
    } catch (err) {
      handshakeDone(new Error(`websocket: ${err.message}`));
      return resolveFinished();
    }
    const timers = [];
    const finish = (err) => {
      timers.forEach(clearTimeout);
      handshakeDone(err);
      resolveFinished();
    };
    ws.on('open', () => {
      handshakeDone();
      events.emit('counter', 'websocket.connections', 1);
      for (const m of spec.sends) {
        timers.push(setTimeout(() => {
          if (ws.readyState !== 1) return;
          const data = m.json !== undefined ? JSON.stringify(resolveDeep(m.json, context.vars))
            : m.base64 !== undefined ? Buffer.from(m.base64, 'base64') : resolve(m.text, context.vars);
          ws.send(data, { binary: m.base64 !== undefined });
          events.emit('counter', 'websocket.messages_sent', 1);
        }, m.at * 1000));
      }
      // Close as the recording did: after its pause following the last send, and once as many
      // messages have come back as it received (a server under load answers later; closing
      // first would cut off what it still had to read), but no more than 5 s late.
      timers.push(setTimeout(() => {
        tailOver = true;
        closeIfDone();
      }, spec.closeAt * 1000));
      timers.push(setTimeout(() => ws.close(1000), (spec.closeAt + 5) * 1000));
    });
    let tailOver = false;
    let received = 0;
    const closeIfDone = () => {
      if (tailOver && received >= (spec.receives || 0) && ws.readyState === 1) ws.close(1000);
    };
    ws.on('message', () => {
      received++;
      events.emit('counter', 'websocket.messages_received', 1);
      closeIfDone();
    });
    ws.on('unexpected-response', (req, res) => {
      req.destroy();
      finish(new Error(`websocket handshake ${res.statusCode}`));
    });
    ws.on('error', (err) => finish(new Error(`websocket ${err.code || err.message}`)));
    ws.on('close', () => finish());
  });
  context.heavySockets.push(finished);
}

function heavyWaitSockets(context, events, done) {
  const open = context.heavySockets.splice(0);
  Promise.all(open).then(() => done(), done);
}

// Run by heavy replay, Artillery leads a process group of its own (so Ctrl+C can stop all of
// it): were heavy replay killed outright (kill -9), nothing would stop the load. Each process
// that loads this file watches heavy replay's pid and ends the group when it is gone.
// (An exported script run with `artillery run` has no such parent.)
const PARENT = Number(process.env.HEAVY_REPLAY_PARENT || 0);
if (PARENT > 0) {
  const watchdog = setInterval(() => {
    try {
      process.kill(PARENT, 0);
    } catch (err) {
      if (err.code !== 'ESRCH') return;
      clearInterval(watchdog);
      // 0: this process's group, Artillery's own (heavy replay starts it detached on POSIX only).
      if (process.platform !== 'win32') {
        try {
          process.kill(0, 'SIGKILL');
        } catch { /* then exit alone */ }
      }
      process.exit(1);
    }
  }, 1000);
  watchdog.unref();
}

module.exports = { heavyStart, heavyPass, heavyAgain, heavySocket, heavyWaitSockets, heavyBody, heavyCheck, heavyQuery, resolve };
