// The COM1 terminal program (bundled as dist/serial-terminal.js). The debug adapter starts it in an
// integrated terminal with the adapter's socket and a token: it connects, then relays the terminal's
// keys to the guest's COM1 and COM1's output to the terminal. The terminal is raw, so Ctrl-C and the
// arrow keys reach the guest as bytes; Ctrl-] closes the terminal. It exits when the session ends.
import * as net from 'node:net';

const [address, token] = process.argv.slice(2);
if (!address || !token) {
  process.stderr.write('serial-terminal: the Ringside debug adapter starts this program with its socket and a token\n');
  process.exit(2);
}

const stdin = process.stdin;
const tty = stdin.isTTY === true;
const sock = net.connect(address);
let detached = false;

function finish(message: string, status: number): never {
  if (tty) stdin.setRawMode(false);
  process.stdout.write(message);
  process.exit(status);
}

sock.on('connect', () => {
  sock.write(token + '\n');
  if (tty) {
    process.stdout.write('Ringside: this terminal is COM1 of the guest. Keys go to the guest; Ctrl-] closes it.\n');
    stdin.setRawMode(true);
  }
  stdin.on('data', (d: Buffer) => {
    if (tty && d.includes(0x1d)) { detached = true; sock.end(); return; }
    sock.write(d);
  });
  stdin.resume();
});
sock.on('data', (d: Buffer) => { process.stdout.write(d); });
sock.on('close', () => finish(detached ? '\r\nRingside: COM1 terminal closed; the guest\'s output goes to the Debug Console.\n' : '\r\nRingside: the debug session ended; COM1 is closed.\n', 0));
sock.on('error', (e) => finish(`Ringside: cannot reach the debug adapter's COM1 (${e.message})\n`, 1));
