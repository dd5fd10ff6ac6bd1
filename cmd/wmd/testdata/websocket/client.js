// The WebSocket cases of TestWebSocketNode, run with Node's ws client:
//   node client.js ws://127.0.0.1:PORT
// It prints one JSON object of results and exits 0, or prints an error
// and exits 1.
const WebSocket = require('ws');
const url = process.argv[2];

function open(path = '/') {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url + path, ['other', 'echo']);
    const queue = [], waiters = [];
    ws.on('message', (data, isBinary) => {
      const m = { data: isBinary ? [...data] : data.toString(), binary: isBinary };
      waiters.length ? waiters.shift()(m) : queue.push(m);
    });
    ws.next = () => new Promise(r => queue.length ? r(queue.shift()) : waiters.push(r));
    ws.closed = new Promise(r => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

(async () => {
  const out = {};
  let ws = await open('/room?x=1');
  out.protocol = ws.protocol;
  out.welcome = (await ws.next()).data;
  ws.send('hello');
  out.text = await ws.next();
  ws.send(Buffer.from([0, 1, 2, 255]));
  out.binary = await ws.next();
  ws.send('frag', { fin: false });
  ws.send('men', { fin: false });
  ws.ping('p1'); // a control frame between fragments
  ws.send('ted', { fin: true });
  out.pong = await new Promise(r => ws.once('pong', d => r(d.toString())));
  out.fragmented = await ws.next();
  ws.send('');
  out.empty = await ws.next();
  ws.send('/close 4001 bye now');
  out.serverClose = await ws.closed;

  ws = await open();
  await ws.next();
  ws.close(4321, 'client says');
  out.clientClose = await ws.closed;

  ws = await open();
  await ws.next();
  ws.send(Buffer.alloc(70000, 'a'));
  out.tooBig = await ws.closed;

  ws = await open();
  await ws.next();
  ws._socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28])); // masked text, invalid UTF-8
  out.badUTF8 = await ws.closed;

  ws = await open();
  await ws.next();
  ws._socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // unmasked
  out.unmasked = await ws.closed;

  // permessage-deflate, which ws offers by default: a compressible
  // message goes compressed both ways (the wire carries a fraction of
  // it), one in fragments too; a small message goes as it is.
  ws = await open();
  await ws.next();
  out.extensions = ws.extensions;
  const big = JSON.stringify(Array.from({ length: 800 }, (_, i) => ({ id: i, name: 'user' + i, online: i % 3 === 0 })));
  const wire = async (want, send) => {
    const [w, r] = [ws._socket.bytesWritten, ws._socket.bytesRead];
    send();
    const m = await ws.next();
    return { echoed: m.data === want, sent: ws._socket.bytesWritten - w, received: ws._socket.bytesRead - r };
  };
  out.bigLength = big.length;
  out.deflated = await wire(big, () => ws.send(big));
  out.deflatedFragments = await wire(big, () => { ws.send(big.slice(0, 20000), { fin: false }); ws.send(big.slice(20000), { fin: true }); });
  out.small = await wire('small', () => ws.send('small'));
  ws.close(1000);
  await ws.closed;

  // A zip bomb: 20 MiB of zeros deflate to some 20 KiB, under
  // max_recv_buffer_size; inflated, they are refused with 1009.
  ws = await open();
  await ws.next();
  ws.send(Buffer.alloc(20 << 20));
  out.bomb = await ws.closed;

  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
