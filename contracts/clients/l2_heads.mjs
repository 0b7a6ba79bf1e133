// Subscribes to newHeads on the loft L2 over WebSocket (the `ws` client, as viem uses it) and
// prints the first header it receives as one JSON line, then exits.
//
//   node l2_heads.mjs <ws-url> [timeout-ms]
import WebSocket from 'ws';

const [url, timeoutArg] = process.argv.slice(2);
if (!url) {
  console.error('usage: l2_heads.mjs <ws-url> [timeout-ms]');
  process.exit(2);
}
const timeout = Number(timeoutArg ?? 60000);
const socket = new WebSocket(url);
const timer = setTimeout(() => {
  console.error(`no newHeads notification within ${timeout} ms`);
  process.exit(1);
}, timeout);
let subscription;
socket.on('open', () => {
  socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
});
socket.on('message', (data) => {
  const msg = JSON.parse(data.toString());
  if (msg.id === 1) {
    if (msg.error) {
      console.error(`eth_subscribe failed: ${JSON.stringify(msg.error)}`);
      process.exit(1);
    }
    subscription = msg.result;
    console.error(`subscribed: ${subscription}`);
    return;
  }
  if (msg.method === 'eth_subscription' && msg.params?.subscription === subscription) {
    clearTimeout(timer);
    console.log(JSON.stringify(msg.params.result));
    socket.close();
    process.exit(0);
  }
});
socket.on('error', (err) => {
  console.error(`websocket error: ${err.message}`);
  process.exit(1);
});
