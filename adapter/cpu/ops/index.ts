// Handler registry: the opcode table names a handler key per entry; each ops file contributes
// factories that build (possibly specialised) handlers for a decoded record.
import type { Handler, Insn } from '../insn';
import type { Cpu } from '../cpu';

export type Factory = (i: Insn) => Handler;

import { handlers as alu } from './alu';
import { handlers as shift } from './shift';
import { handlers as muldiv } from './muldiv';
import { handlers as bcd } from './bcd';
import { handlers as bits } from './bits';
import { handlers as string } from './string';
import { handlers as stack } from './stack';
import { handlers as data } from './data';
import { handlers as misc } from './misc';
import { handlers as control } from './control';
import { handlers as system } from './system';
import { handlers as io } from './io';

const registry: Record<string, Factory> = Object.assign({}, alu, shift, muldiv, bcd, bits, string, stack, data, misc, control, system, io);

export function undefinedOpcode(cpu: Cpu): void {
  cpu.ud();
}

/** The handler for a decoded record; unknown keys execute as #UD. */
export function makeHandler(i: Insn): Handler {
  const f = registry[i.entry.handler];
  return f ? f(i) : undefinedOpcode;
}

/** Keys the table names that no ops file implements (a test checks this is empty). */
export function missingHandlers(keys: Iterable<string>): string[] {
  const out: string[] = [];
  for (const k of keys) if (!registry[k]) out.push(k);
  return out;
}
