// The debug adapter process: DAP over stdin/stdout. The guest runs here, in its own process, never
// on the extension host's thread.
import { DebugSession } from '@vscode/debugadapter';
import { RingsideSession } from './session';

DebugSession.run(RingsideSession);
