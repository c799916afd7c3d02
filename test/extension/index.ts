// Entry point of the extension-host suite: VS Code (or code-server, through the payload's
// extensionTestsPath) loads this bundle and calls run(); a rejected promise means failure.
import './suite';
import { runAll } from './harness';

export async function run(): Promise<void> {
  const failed = await runAll(process.env.RINGSIDE_TEST_REPORT);
  if (failed) throw new Error(`${failed} extension-host test(s) failed`);
}
