// Errors a user caused (a bad expression, launch attribute, pattern or request argument): answered
// with their message, never a stack. Anything else is a bug and propagates.
import { GuestLoadError } from '../machine/loaders/errors';
import { ExprError } from '../debugger/expr';
import { RegisterError } from '../debugger/registers';
import { PatternError } from '../debugger/patterns';
import { LaunchError } from './launch';
import { CustomRequestError } from './custom';

export function userMessage(e: unknown): string | undefined {
  if (e instanceof ExprError || e instanceof RegisterError || e instanceof PatternError || e instanceof LaunchError || e instanceof GuestLoadError || e instanceof CustomRequestError) return e.message;
  return undefined;
}
