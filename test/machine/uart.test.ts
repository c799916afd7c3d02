import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortBus } from '../../adapter/machine/ports';
import { Uart } from '../../adapter/machine/uart';
import { Pic } from '../../adapter/machine/pic';

const COM1 = 0x3f8;
const [RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR] = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => COM1 + n);

function setup() {
  const uart = new Uart(COM1);
  const bus = new PortBus();
  bus.register(COM1, 8, uart, 'com1');
  const sent: number[] = [];
  uart.onTransmit = (b) => sent.push(b);
  const irq: boolean[] = [];
  uart.onIrq = (l) => {
    if (irq.at(-1) !== l) irq.push(l);
  };
  const inb = (p: number) => bus.read(p, 1);
  const outb = (p: number, v: number) => bus.write(p, 1, v);
  return { uart, bus, sent, irq, inb, outb };
}

test('LCR.DLAB switches ports 0/1 to the divisor latch', () => {
  const { uart, inb, outb, sent } = setup();
  outb(LCR, 0x80);
  outb(RBR, 0x01); // DLL: 115200 baud
  outb(IER, 0x00); // DLM
  outb(LCR, 0x03); // 8N1, DLAB off
  assert.equal(uart.divisor(), 1);
  assert.equal(sent.length, 0, 'the divisor write is not a transmitted byte');
  assert.equal(inb(IER), 0x00, 'IER, not DLM');
  outb(LCR, 0x83);
  assert.equal(inb(RBR), 0x01);
  assert.equal(inb(IER), 0x00);
  outb(LCR, 0x03);
  assert.equal(inb(LCR), 0x03);
  outb(SCR, 0x5a);
  assert.equal(inb(SCR), 0x5a);
});

test('THR writes go out at once; LSR always shows THRE|TEMT; DR when input is pending', () => {
  const { uart, inb, outb, sent } = setup();
  for (const c of 'Hi\n') outb(RBR, c.charCodeAt(0));
  assert.equal(Buffer.from(sent).toString(), 'Hi\n');
  assert.equal(inb(LSR), 0x60);
  uart.receive(new Uint8Array([0x41, 0x42]));
  assert.equal(inb(LSR), 0x61);
  assert.equal(inb(RBR), 0x41);
  assert.equal(inb(LSR) & 1, 1);
  assert.equal(inb(RBR), 0x42);
  assert.equal(inb(LSR), 0x60);
});

test('THRE interrupt: pending when enabled, cleared by reading IIR or writing THR, back after a write', () => {
  const { inb, outb, irq } = setup();
  assert.equal(inb(IIR), 0x01);
  outb(IER, 0x02);
  assert.deepEqual(irq, [false, true]);
  assert.equal(inb(IIR), 0x02);
  assert.equal(inb(IIR), 0x01, 'reading IIR acknowledged THRE');
  assert.equal(irq.at(-1), false);
  outb(RBR, 0x2e); // transmitted at once: THR empty again
  assert.equal(irq.at(-1), true);
  assert.equal(inb(IIR), 0x02);
  outb(IER, 0x00);
  assert.equal(inb(IIR), 0x01);
});

test('IIR priority: received data before THR empty; data interrupt ends when the data is read', () => {
  const { uart, inb, outb, irq } = setup();
  outb(IER, 0x03);
  uart.receive(0x7a);
  assert.equal(inb(IIR), 0x04);
  assert.equal(inb(IIR), 0x04, 'reading IIR does not clear received data');
  assert.equal(inb(RBR), 0x7a);
  assert.equal(inb(IIR), 0x02, 'then THR empty');
  assert.equal(inb(IIR), 0x01);
  assert.equal(irq.at(-1), false);
});

test('FIFO: IIR bits 0xC0, trigger level and character timeout', () => {
  const { uart, inb, outb } = setup();
  outb(0x3fa, 0xc7); // FIFO on, clear both, trigger 14
  assert.equal(inb(IIR), 0xc1);
  outb(IER, 0x01);
  uart.receive(new Uint8Array(5).fill(0x31));
  assert.equal(inb(IIR), 0xcc, 'below the trigger level: timeout');
  uart.receive(new Uint8Array(20).fill(0x32));
  assert.equal(inb(IIR), 0xc4, 'FIFO full above 14: received data available');
  let n = 0;
  while (inb(LSR) & 1) {
    inb(RBR);
    n++;
  }
  assert.equal(n, 25, 'nothing lost beyond the 16-byte FIFO');
  outb(0x3fa, 0x00);
  assert.equal(inb(IIR), 0x01);
});

test('input sent before the guest resets the FIFO survives the reset', () => {
  const { uart, inb, outb } = setup();
  uart.receive(new Uint8Array([0x61, 0x62]));
  outb(IER, 0x00);
  outb(0x3fa, 0x07); // the usual init: FIFO on and cleared
  assert.equal(inb(RBR), 0x61);
  assert.equal(inb(RBR), 0x62);
});

test('IRQ4 to the PIC: one interrupt per received byte with an ISR that reads IIR until 0x01', () => {
  const { uart, bus, inb, outb } = setup();
  const pic = new Pic();
  bus.register(0x20, 2, pic, 'pic');
  uart.onIrq = (l) => pic.setLine(4, l);
  outb(0x21, 0xef);
  outb(IER, 0x01);
  const got: number[] = [];
  uart.receive(new Uint8Array([1, 2, 3]));
  for (let i = 0; i < 10 && pic.output(); i++) {
    assert.equal(pic.acknowledge(), 0x0c);
    while ((inb(IIR) & 1) === 0) got.push(inb(RBR));
    outb(0x20, 0x20);
  }
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(pic.output(), false);
});

test('loopback: transmitted bytes come back, MSR mirrors MCR', () => {
  const { inb, outb, sent } = setup();
  outb(MCR, 0x1e); // loopback, RTS, OUT1, OUT2
  inb(MSR); // clear deltas
  outb(RBR, 0xae);
  assert.equal(sent.length, 0);
  assert.equal(inb(RBR), 0xae);
  assert.equal(inb(MSR) & 0xf0, 0xd0); // CTS, RI, DCD
  outb(MCR, 0x1b); // DTR instead of OUT1
  const msr = inb(MSR);
  assert.equal(msr & 0xf0, 0xb0);
  assert.equal(msr & 0x0f, 0x06, 'DSR changed, RI trailing edge');
  outb(MCR, 0x0b);
  assert.equal(inb(MSR) & 0xf0, 0xb0);
});

test('modem status interrupt has the lowest priority', () => {
  const { inb, outb } = setup();
  outb(IER, 0x0a);
  outb(MCR, 0x10); // loopback: DCD, DSR, CTS drop -> deltas
  assert.equal(inb(IIR), 0x02);
  assert.equal(inb(IIR), 0x00);
  inb(MSR);
  assert.equal(inb(IIR), 0x01);
});

test('reset state is what SeaBIOS leaves on COM1, snapshot round trip', () => {
  const { uart, inb, outb } = setup();
  assert.deepEqual([IER, IIR, LCR, MCR, LSR, MSR, SCR].map(inb), [0x00, 0x01, 0x00, 0x08, 0x60, 0xb0, 0x00]);
  assert.equal(uart.divisor(), 12);
  uart.receive(new Uint8Array([9, 8, 7]));
  outb(IER, 1);
  const snap = JSON.parse(JSON.stringify(uart.snapshot()));
  assert.equal(inb(RBR), 9);
  uart.restore(snap);
  assert.equal(inb(RBR), 9);
  assert.equal(inb(RBR), 8);
});
