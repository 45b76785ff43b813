// sim-server: the catalog's example service executer, a stand-in for a simulation build that a
// remote controller connects to (one server per GPU, at a given screen size). No dependencies.
//
//   node run-sim-server.mjs --control-port=P --http-port=P [--width=1280] [--height=720] [--fps=30]
//                           [--fail-after-ms=MS] [--ready-delay-ms=MS]
//
// Flags take `--flag=value` or `--flag value`. Without the port flags it reads GPUFLEET_PORT_CONTROL
// and GPUFLEET_PORT_HTTP (set by the tracker). Both servers listen on 0.0.0.0; once both do it prints
// `listening control=<port> http=<port>`.
//   http:    GET /healthz → 200 {"ok":true,"width":W,"height":H}; anything else → 404.
//   control: a line protocol over TCP (lines end in \n, a \r before it is dropped, commands are
//            case-insensitive): on connect `HELLO sim-server <W>x<H> fps=<F> pid=<PID>`;
//            PING → PONG; STEP <n> → FRAME <n> <W>x<H> (n a non-negative integer); QUIT → BYE and
//            the connection closes; an empty line is ignored; anything else → ERR <reason>.
// Exit codes: 0 after SIGTERM/SIGINT (servers closed), 1 a port cannot be listened on, 2 bad
// arguments, 3 --fail-after-ms elapsed (counted from the process start, ready or not).
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

const HOST = '0.0.0.0';
const MAX_LINE = 4096;
const MAX_MS = 2_147_483_647;
// flag → [option, minimum, maximum]
const FLAGS = {
  'control-port': ['controlPort', 0, 65_535],
  'http-port': ['httpPort', 0, 65_535],
  width: ['width', 16, 8192],
  height: ['height', 16, 8192],
  fps: ['fps', 1, 240],
  'fail-after-ms': ['failAfterMs', 1, MAX_MS],
  'ready-delay-ms': ['readyDelayMs', 0, MAX_MS],
};

function fail(code, message) {
  process.stderr.write(`sim-server: ${message}\n`);
  process.exit(code);
}

function integer(what, text, min, max) {
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (n >= min && n <= max) return n;
  fail(2, `${what} must be an integer from ${min} to ${max} (got ${JSON.stringify(text)})`);
}

function parseArgs(argv, env) {
  const opts = { width: 1280, height: 720, fps: 30 };
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(argv[i]);
    const flag = match && Object.hasOwn(FLAGS, match[1]) ? FLAGS[match[1]] : undefined;
    if (!flag) fail(2, `unexpected argument ${JSON.stringify(argv[i])}`);
    const text = match[2] ?? argv[++i];
    if (text === undefined) fail(2, `--${match[1]} needs a value`);
    opts[flag[0]] = integer(`--${match[1]}`, text, flag[1], flag[2]);
  }
  for (const [key, flag, name] of [
    ['controlPort', 'control-port', 'GPUFLEET_PORT_CONTROL'],
    ['httpPort', 'http-port', 'GPUFLEET_PORT_HTTP'],
  ]) {
    if (opts[key] !== undefined) continue;
    if (env[name] === undefined || env[name] === '') fail(2, `--${flag} or ${name} is required`);
    opts[key] = integer(name, env[name], 0, 65_535);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2), process.env);
const size = `${opts.width}x${opts.height}`;

/** The answer to one line of the control protocol; null: say nothing. */
function answer(line) {
  const [command = '', ...args] = line.trim().split(/\s+/);
  switch (command.toUpperCase()) {
    case '':
      return null;
    case 'PING':
      return args.length === 0 ? 'PONG' : 'ERR PING takes no arguments';
    case 'STEP':
      if (args.length !== 1 || !/^\d{1,15}$/.test(args[0])) return 'ERR STEP needs one non-negative integer';
      return `FRAME ${Number(args[0])} ${size}`;
    default:
      return `ERR unknown command ${JSON.stringify(command.slice(0, 32))}`;
  }
}

const sockets = new Set();
const control = createTcpServer((socket) => {
  sockets.add(socket);
  socket.setEncoding('utf8');
  socket.on('error', () => {}); // a client reset is that client's end, not the server's
  socket.on('close', () => sockets.delete(socket));
  const send = (line) => socket.writable && socket.write(`${line}\n`);
  send(`HELLO sim-server ${size} fps=${opts.fps} pid=${process.pid}`);
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline).replace(/\r$/, '');
      buffered = buffered.slice(newline + 1);
      if (/^\s*quit\s*$/i.test(line)) {
        send('BYE');
        socket.end();
        buffered = '';
        return;
      }
      const reply = answer(line);
      if (reply !== null) send(reply);
    }
    if (buffered.length > MAX_LINE) {
      send(`ERR line longer than ${MAX_LINE} characters`);
      socket.end();
      buffered = '';
    }
  });
});

const http = createHttpServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  const ok = req.method === 'GET' && path === '/healthz';
  const body = ok ? { ok: true, width: opts.width, height: opts.height } : { ok: false, error: 'not found' };
  res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});

function listen(server, port, name) {
  return new Promise((resolve) => {
    server.once('error', (err) => fail(1, `cannot listen on ${name} port ${port}: ${err.message}`));
    server.listen(port, HOST, () => resolve(server.address().port));
  });
}

function shutdown() {
  control.close();
  http.close();
  for (const socket of sockets) socket.destroy();
  http.closeAllConnections();
  process.exit(0);
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

if (opts.failAfterMs !== undefined) {
  const why = `failing on purpose after ${opts.failAfterMs} ms (--fail-after-ms)`;
  setTimeout(() => fail(3, why), opts.failAfterMs);
}
if (opts.readyDelayMs) await new Promise((resolve) => setTimeout(resolve, opts.readyDelayMs));
const controlPort = await listen(control, opts.controlPort, 'control');
const httpPort = await listen(http, opts.httpPort, 'http');
process.stdout.write(`listening control=${controlPort} http=${httpPort}\n`);
