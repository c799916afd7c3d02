// The hypervisor panel's tab set follows the session's mode (media/modes.ts, run here without a
// workbench): each mode shows the tabs it has data for, and says why the others are absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tabsFor, tabAbsent, memoryTablesFor, absentInMode, modeLabel, vmxText } from '../../media/modes';

const vtx = (memoryVirtualization: string) => ({ virtualization: 'vtx', memoryVirtualization });
const sw = (virtualization: string) => ({ virtualization, memoryVirtualization: 'shadow' });

test('each mode shows its own tabs', () => {
  assert.deepEqual(tabsFor(vtx('ept')), ['overview', 'exits', 'memory', 'translate', 'vmcs']);
  assert.deepEqual(tabsFor(vtx('shadow')), ['overview', 'exits', 'memory', 'translate', 'vmcs']);
  assert.deepEqual(tabsFor(sw('trap-and-emulate')), ['overview', 'exits', 'memory', 'translate']);
  assert.deepEqual(tabsFor(sw('binary-translation')), ['overview', 'exits', 'memory', 'translate', 'tcache']);
  assert.deepEqual(tabsFor(sw('paravirt')), ['overview', 'exits', 'memory', 'translate', 'hypercalls']);
  assert.deepEqual(tabsFor({ virtualization: 'none' }), ['overview', 'memory', 'translate']);
  // Before any session every tab shows (each says it has no data yet).
  assert.equal(tabsFor(undefined).length, 7);
});

test('under vtx the Hypercalls tab appears once the guest made a VMCALL', () => {
  assert.match(tabAbsent('hypercalls', vtx('ept'), 0)!, /no hypercall/);
  assert.ok(tabsFor(vtx('ept'), 3).includes('hypercalls'));
});

test('an absent tab says why, naming the mode that has it', () => {
  assert.equal(tabAbsent('tcache', vtx('ept')), 'vtx+ept runs guest code as it is: only "binary-translation" has a translation cache');
  assert.equal(tabAbsent('vmcs', sw('paravirt')), 'paravirt does not use VT-x, so there is no VMCS');
  assert.match(tabAbsent('exits', { virtualization: 'none' })!, /no VM exits/);
  assert.equal(tabAbsent('memory', { virtualization: 'none' }), undefined);
});

test('the Memory tab offers EPT or the shadow tables, as the mode has them', () => {
  assert.deepEqual(memoryTablesFor(vtx('ept')), ['guest', 'ept']);
  assert.deepEqual(memoryTablesFor(vtx('shadow')), ['guest', 'shadow']);
  assert.deepEqual(memoryTablesFor(sw('binary-translation')), ['guest', 'shadow']);
  assert.deepEqual(memoryTablesFor({ virtualization: 'none' }), ['guest']);
  assert.match(absentInMode('ept', vtx('shadow'))!, /shadow page tables, not EPT/);
});

test('mode labels: vtx names its memory virtualization, the software modes do not', () => {
  assert.equal(modeLabel(vtx('shadow')), 'vtx+shadow');
  assert.equal(modeLabel(sw('trap-and-emulate')), 'trap-and-emulate');
});

test('only vtx runs the guest in VMX non-root operation', () => {
  assert.match(vmxText('vtx', 'non-root'), /^non-root/);
  for (const m of ['trap-and-emulate', 'binary-translation', 'paravirt']) assert.match(vmxText(m, 'non-root'), /^no VMX: .*ring 1/, m);
  assert.match(vmxText('none', 'none'), /no VMX operation/);
});
