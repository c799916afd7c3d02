// COM1 in an integrated terminal ("serial": "terminal"). The adapter listens on a local socket (a Unix
// socket in a private folder, a named pipe on Windows) and asks the client, through the runInTerminal
// reverse request, to start dist/serial-terminal.js there. That program connects and relays: keys
// typed in the terminal go to COM1, COM1's bytes go to the terminal. The first line it sends is a
// token from its command line, so only the program started for this session is let in.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export type Connection = 'connected' | 'timeout' | 'cancelled' | 'closed';

/** COM1 output kept while the terminal is still starting (a guest may print before it connects). */
const MAX_PENDING = 1 << 20;

export class SerialTerminal {
  /** Bytes typed in the terminal. */
  onInput: (data: Buffer) => void = () => {};
  /** The terminal went away (closed by the user, or its program ended). */
  onClose: () => void = () => {};
  private socket?: net.Socket;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private waiter?: (how: Connection) => void;
  private closed = false;
  private cancelled = false;
  private readonly cleanup = () => this.removeFolder();

  private constructor(private readonly server: net.Server, readonly address: string, private readonly token: string, private readonly folder?: string) {
    server.on('connection', (s) => this.accept(s));
    process.on('exit', this.cleanup);
  }

  /** Opens the socket the terminal program will connect to. */
  static async listen(): Promise<SerialTerminal> {
    const token = randomBytes(16).toString('hex');
    let address: string, folder: string | undefined;
    if (process.platform === 'win32') address = `\\\\.\\pipe\\ringside-com1-${token}`;
    else {
      folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-com1-'));
      address = path.join(folder, 'com1.sock');
    }
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => { server.off('error', reject); resolve(); });
    });
    return new SerialTerminal(server, address, token, folder);
  }

  /** The command line of the terminal program. */
  command(script: string): string[] {
    return [process.execPath, script, this.address, this.token];
  }

  get attached(): boolean {
    return this.socket !== undefined && !this.closed;
  }

  /** Waits for the terminal program to connect, at most `ms`. */
  connected(ms: number): Promise<Connection> {
    if (this.attached) return Promise.resolve('connected');
    if (this.closed) return Promise.resolve('closed');
    if (this.cancelled) return Promise.resolve('cancelled');
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle('timeout'), ms);
      this.waiter = (how) => { clearTimeout(timer); resolve(how); };
    });
  }

  /** Stops waiting for the terminal program (the user cancelled), now or as soon as the wait begins. */
  cancelWait(): void {
    this.cancelled = true;
    this.settle('cancelled');
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.socket) { this.socket.write(bytes); return; }
    if (this.pendingBytes + bytes.length > MAX_PENDING) return; // a terminal that never came: keep the first MiB
    this.pending.push(Buffer.from(bytes));
    this.pendingBytes += bytes.length;
  }

  /** Ends the terminal program (it says the session ended and exits) and removes the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.settle('closed');
    this.socket?.end();
    this.server.close();
    this.removeFolder();
    process.off('exit', this.cleanup);
  }

  private settle(how: Connection): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.(how);
  }

  private accept(s: net.Socket): void {
    if (this.socket || this.closed) { s.destroy(); return; }
    let head = Buffer.alloc(0);
    const onHandshake = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const nl = head.indexOf(0x0a);
      if (nl < 0) { if (head.length > 256) s.destroy(); return; }
      s.off('data', onHandshake);
      if (head.subarray(0, nl).toString('latin1') !== this.token || this.socket) { s.destroy(); return; }
      this.socket = s;
      s.on('data', (x: Buffer) => this.onInput(x));
      s.on('close', () => {
        if (this.socket !== s) return;
        this.socket = undefined;
        if (!this.closed) { this.closed = true; this.server.close(); this.removeFolder(); this.onClose(); }
      });
      for (const b of this.pending) s.write(b);
      this.pending = [];
      this.pendingBytes = 0;
      const rest = head.subarray(nl + 1);
      if (rest.length) this.onInput(rest);
      this.settle('connected');
    };
    s.on('data', onHandshake);
    s.on('error', () => s.destroy());
  }

  private removeFolder(): void {
    if (this.folder) fs.rmSync(this.folder, { recursive: true, force: true });
  }
}
