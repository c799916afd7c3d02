// Records QEMU TCG's serial output as the expected output of the guest tests
// (test/guests/expected/NAME.txt) and of the samples (samples/expected/NAME.txt).
//
//   node --import tsx test/guests/record.ts            every guest and sample
//   node --import tsx test/guests/record.ts pf-32 kernel  only those
//
// A run that does not end with status 1 (the guest wrote 0 to port 0xF4) is reported and
// not recorded. Where QEMU departs from the Intel SDM, edit NAME.expected.txt and
// NAME.deviations.md by hand; this script prints which lines differ from them.
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BootKind, GUEST_CPU, assemble, exitPortStatus, guestKind, limiter, repoRoot, runQemu, scratchDir,
} from './emulators';

interface Job { name: string; source: string; kind: BootKind; cpu?: string; out: string; sdm?: string }

const guestDir = join(repoRoot, 'test', 'guests');
const jobs: Job[] = [];
for (const f of readdirSync(guestDir).filter((f) => f.endsWith('.asm')).sort()) {
  const name = f.slice(0, -4);
  jobs.push({
    name, source: join(guestDir, f), kind: guestKind(join(guestDir, f)), cpu: GUEST_CPU,
    out: join(guestDir, 'expected', `${name}.txt`), sdm: join(guestDir, `${name}.expected.txt`),
  });
}
// pvkernel.asm is left out: QEMU has no hypervisor behind VMCALL (its expected output is the paravirt run).
for (const [name, kind] of [['hello-boot', 'boot'], ['kernel', 'multiboot'], ['floppy-pm', 'floppy'], ['irqsave', 'multiboot']] as const) {
  jobs.push({ name, source: join(repoRoot, 'samples', `${name}.asm`), kind, out: join(repoRoot, 'samples', 'expected', `${name}.txt`) });
}

const only = process.argv.slice(2);
const selected = only.length ? jobs.filter((j) => only.includes(j.name)) : jobs;
const dir = scratchDir('record');
const pool = limiter(2);
let failed = false;
void Promise.all(selected.map((j) => pool(async () => {
  const image = join(dir, `${j.name}.img`);
  assemble(j.source, image);
  const r = await runQemu(image, j.kind, j.cpu);
  if (r.status !== exitPortStatus(0)) {
    failed = true;
    console.log(`${j.name}: QEMU ended with status ${r.status}${r.timedOut ? ' (timeout)' : ''}; not recorded\n${r.stdout}${r.stderr}`);
    return;
  }
  writeFileSync(j.out, r.stdout, 'latin1');
  let note = '';
  if (j.sdm && existsSync(j.sdm)) {
    const sdm = readFileSync(j.sdm, 'latin1').split('\n');
    const q = r.stdout.split('\n');
    const differ = sdm.flatMap((line, i) => (line !== q[i] ? [`  line ${i + 1}: QEMU "${q[i]}", SDM "${line}"`] : []));
    note = sdm.length !== q.length ? ` (${j.name}.expected.txt has ${sdm.length} lines, QEMU ${q.length})` : '';
    note += differ.length ? `\n${differ.join('\n')}` : ` (equals ${j.name}.expected.txt: no deviation left)`;
  }
  console.log(`${j.name}: recorded ${r.stdout.split('\n').length - 1} lines${note}`);
}))).then(() => {
  rmSync(dir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
});
