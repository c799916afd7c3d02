// Families, one vector file each.
import alu from './alu.mjs';
import shift from './shift.mjs';
import muldiv from './muldiv.mjs';
import bcd from './bcd.mjs';
import bits from './bits.mjs';
import cond from './cond.mjs';
import control from './control.mjs';
import stack from './stack.mjs';
import segment from './segment.mjs';
import data from './data.mjs';
import string from './string.mjs';
import misc from './misc.mjs';

export const FAMILIES = [alu, shift, muldiv, bcd, bits, cond, control, stack, segment, data, string, misc];
