import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortBus } from '../../adapter/machine/ports';
import { Pic } from '../../adapter/machine/pic';

/** A PIC pair remapped the way protected-mode kernels do: IRQ 0-7 -> 0x20, IRQ 8-15 -> 0x28. */
function setup(masterMask = 0x00, slaveMask = 0x00) {
  const pic = new Pic();
  const bus = new PortBus();
  bus.register(0x20, 2, pic, 'pic-master');
  bus.register(0xa0, 2, pic, 'pic-slave');
  bus.register(0x4d0, 2, pic, 'elcr');
  const intr: boolean[] = [];
  pic.onOutput = (l) => intr.push(l);
  bus.write(0x20, 1, 0x11); // ICW1: edge, cascade, ICW4 follows
  bus.write(0xa0, 1, 0x11);
  bus.write(0x21, 1, 0x20); // ICW2: vector bases
  bus.write(0xa1, 1, 0x28);
  bus.write(0x21, 1, 0x04); // ICW3: slave on IR2
  bus.write(0xa1, 1, 0x02); //       slave id 2
  bus.write(0x21, 1, 0x01); // ICW4: 8086 mode
  bus.write(0xa1, 1, 0x01);
  bus.write(0x21, 1, masterMask); // OCW1
  bus.write(0xa1, 1, slaveMask);
  intr.length = 0;
  const isr = (port: number) => {
    bus.write(port, 1, 0x0b); // OCW3: read ISR
    return bus.read(port, 1);
  };
  const irr = (port: number) => {
    bus.write(port, 1, 0x0a); // OCW3: read IRR
    return bus.read(port, 1);
  };
  return { pic, bus, intr, isr, irr };
}

test('reset state is what a PC BIOS leaves: vectors 0x08/0x70, masks 0xB8/0x8E', () => {
  const pic = new Pic();
  const bus = new PortBus();
  bus.register(0x20, 2, pic, 'm');
  bus.register(0xa0, 2, pic, 's');
  assert.equal(bus.read(0x21, 1), 0xb8);
  assert.equal(bus.read(0xa1, 1), 0x8e);
  pic.raise(0);
  assert.equal(pic.acknowledge(), 0x08);
  pic.raise(8);
  bus.write(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x70);
});

test('remapped to 0x20/0x28: acknowledge returns the vector, ISR/IRR via OCW3, EOI clears', () => {
  const { pic, bus, intr, isr, irr } = setup();
  pic.raise(1);
  assert.deepEqual(intr, [true]);
  assert.equal(irr(0x20), 0x02);
  assert.equal(pic.pendingVector(), 0x21);
  assert.equal(pic.acknowledge(), 0x21);
  assert.deepEqual(intr, [true, false]);
  assert.equal(isr(0x20), 0x02);
  assert.equal(irr(0x20), 0x00);
  bus.write(0x20, 1, 0x20); // non-specific EOI
  assert.equal(isr(0x20), 0x00);
  assert.equal(pic.output(), false);
});

test('priority: a lower request waits for EOI, a higher one nests', () => {
  const { pic, bus, isr } = setup();
  pic.raise(3);
  assert.equal(pic.acknowledge(), 0x23);
  pic.raise(5); // lower priority than the one in service
  assert.equal(pic.output(), false);
  pic.raise(1); // higher: interrupts the IRQ3 handler
  assert.equal(pic.output(), true);
  assert.equal(pic.acknowledge(), 0x21);
  assert.equal(isr(0x20), 0x0a);
  bus.write(0x20, 1, 0x20); // EOI goes to the highest in service: IRQ1
  assert.equal(isr(0x20), 0x08);
  assert.equal(pic.output(), false); // IRQ5 still blocked by IRQ3
  bus.write(0x20, 1, 0x63); // specific EOI for IRQ3
  assert.equal(pic.output(), true);
  assert.equal(pic.acknowledge(), 0x25);
});

test('masking holds a request in IRR until unmasked; edge-triggered: one edge, one interrupt', () => {
  const { pic, bus, irr } = setup(0x01);
  pic.raise(0);
  assert.equal(pic.output(), false);
  assert.equal(irr(0x20), 0x01);
  assert.equal(bus.read(0x21, 1), 0x01);
  bus.write(0x21, 1, 0x00);
  assert.equal(pic.output(), true);
  pic.raise(0); // still high: not a new edge
  assert.equal(pic.acknowledge(), 0x20);
  bus.write(0x20, 1, 0x20);
  assert.equal(pic.output(), false);
  pic.lower(0);
  pic.raise(0);
  assert.equal(pic.acknowledge(), 0x20);
});

test('cascade: IRQ 8-15 come through the slave on IR2 and need EOI on both chips', () => {
  const { pic, bus, isr, intr } = setup();
  pic.raise(12);
  assert.deepEqual(intr, [true]);
  assert.equal(pic.pendingVector(), 0x2c);
  assert.equal(pic.acknowledge(), 0x2c);
  assert.equal(isr(0x20), 0x04);
  assert.equal(isr(0xa0), 0x10);
  pic.raise(14); // lower than 12 on the slave: waits
  pic.raise(9); // higher than 12: but master's IR2 is in service (not special fully nested)
  assert.equal(pic.output(), false);
  bus.write(0xa0, 1, 0x20);
  bus.write(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x29);
  bus.write(0xa0, 1, 0x20);
  bus.write(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x2e);
  bus.write(0xa0, 1, 0x20);
  bus.write(0x20, 1, 0x20);
  assert.equal(pic.output(), false);
  // Masking the slave's input on the master masks all of 8-15.
  bus.write(0x21, 1, 0x04);
  pic.raise(15);
  assert.equal(pic.output(), false);
  bus.write(0x21, 1, 0x00);
  assert.equal(pic.acknowledge(), 0x2f);
  // Slave-side mask.
  bus.write(0xa0, 1, 0x20);
  bus.write(0x20, 1, 0x20);
  bus.write(0xa1, 1, 0x01);
  pic.raise(8);
  assert.equal(pic.output(), false);
});

test('IRQ0 outranks the cascade, the cascade outranks IRQ3', () => {
  const { pic, bus } = setup();
  pic.raise(3);
  pic.raise(12);
  pic.raise(0);
  assert.equal(pic.acknowledge(), 0x20);
  assert.equal(pic.output(), false); // everything else is below IRQ0 in service
  bus.write(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x2c);
  assert.equal(pic.output(), false); // IRQ3 is below IR2 in service
  bus.write(0xa0, 1, 0x20);
  bus.write(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x23);
});

test('spurious IRQ7: request masked between INTR and INTA gives vector base+7, no ISR bit', () => {
  const { pic, bus, isr } = setup();
  pic.raise(4);
  assert.equal(pic.output(), true);
  bus.write(0x21, 1, 0x10); // masked before the CPU acknowledges
  assert.equal(pic.acknowledge(), 0x27);
  assert.equal(isr(0x20), 0x00); // a handler must not EOI a spurious IRQ7
});

test('spurious IRQ15: the master serves IR2 but the slave has nothing', () => {
  const { pic, bus, isr } = setup();
  pic.raise(11);
  bus.write(0xa1, 1, 0x08); // mask it on the slave after the master latched IR2
  assert.equal(pic.acknowledge(), 0x2f);
  assert.equal(isr(0xa0), 0x00);
  assert.equal(isr(0x20), 0x04); // the master EOI is still owed
});

test('auto-EOI mode leaves nothing in service', () => {
  const { pic, bus, isr } = setup();
  bus.write(0x20, 1, 0x11);
  bus.write(0x21, 1, 0x20);
  bus.write(0x21, 1, 0x04);
  bus.write(0x21, 1, 0x03); // ICW4: 8086 + AEOI
  pic.raise(5);
  assert.equal(pic.acknowledge(), 0x25);
  assert.equal(isr(0x20), 0x00);
  pic.raise(6);
  assert.equal(pic.acknowledge(), 0x26);
});

test('rotate on non-specific EOI makes the served IRQ the lowest priority', () => {
  const { pic, bus } = setup();
  pic.raise(1);
  assert.equal(pic.acknowledge(), 0x21);
  bus.write(0x20, 1, 0xa0); // rotate on non-specific EOI: priority order is now 2,3,...,7,0,1
  pic.raise(0);
  pic.raise(6);
  assert.equal(pic.acknowledge(), 0x26);
  bus.write(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x20);
  bus.write(0x20, 1, 0xc7); // set priority: IR7 lowest, back to the fixed order
  bus.write(0x20, 1, 0x20);
  pic.raise(5);
  pic.lower(0);
  pic.raise(0);
  assert.equal(pic.acknowledge(), 0x20);
});

test('poll command returns 0x80|irq and puts it in service', () => {
  const { pic, bus, isr } = setup();
  bus.write(0x21, 1, 0xff); // polled systems mask everything
  bus.write(0x21, 1, 0x00);
  pic.raise(6);
  bus.write(0x20, 1, 0x0c); // OCW3 poll
  assert.equal(bus.read(0x20, 1), 0x86);
  assert.equal(isr(0x20), 0x40);
  bus.write(0x20, 1, 0x0c);
  assert.equal(bus.read(0x20, 1), 0x00);
});

test('ELCR: level-triggered inputs follow their line', () => {
  const { pic, bus } = setup();
  assert.equal(bus.read(0x4d1, 1), 0x0c);
  bus.write(0x4d1, 1, 0x08); // IRQ11 level
  pic.raise(11);
  assert.equal(pic.acknowledge(), 0x2b);
  bus.write(0xa0, 1, 0x20);
  bus.write(0x20, 1, 0x20);
  assert.equal(pic.output(), true, 'line still high: interrupts again after EOI');
  pic.lower(11);
  assert.equal(pic.state().slave.irr, 0, 'the level request went away with its line');
  // The master latched IR2 on the slave's edge; with nothing left on the slave the CPU gets the
  // slave's IR7 vector (a spurious IRQ15), as on QEMU.
  assert.equal(pic.acknowledge(), 0x2f);
  bus.write(0x4d0, 1, 0x07);
  assert.equal(bus.read(0x4d0, 1), 0x00, 'IRQ 0-2 cannot be level-triggered');
});

test('state() and snapshot/restore', () => {
  const { pic } = setup(0x80);
  pic.raise(3);
  pic.raise(9);
  const st = pic.state();
  assert.equal(st.master.vectorBase, 0x20);
  assert.equal(st.slave.vectorBase, 0x28);
  assert.equal(st.master.imr, 0x80);
  assert.equal(st.intr, true);
  assert.equal(st.pendingVector, 0x29);
  const snap = JSON.parse(JSON.stringify(pic.snapshot()));
  assert.equal(pic.acknowledge(), 0x29);
  pic.restore(snap);
  assert.equal(pic.acknowledge(), 0x29);
  assert.equal(pic.acknowledge(), 0x20 + 7, 'IRQ3 waits behind IR2 in service: nothing to give');
});
