// A small test runner for the extension host (the suite runs inside VS Code, where Node's own test
// runner cannot start): named tests in order, each with a timeout, a summary line Node's and CI's
// readers understand ("N passed, N failed"), and the report also written to a file when asked.
import * as fs from 'node:fs';

type Fn = () => Promise<void> | void;
const tests: { name: string; fn: Fn; timeout: number }[] = [];

export function test(name: string, fn: Fn, timeout = 60000): void {
  tests.push({ name, fn, timeout });
}

export async function runAll(reportFile?: string): Promise<number> {
  const lines: string[] = [];
  const say = (s: string) => { lines.push(s); console.log(s); if (reportFile) fs.appendFileSync(reportFile, s + '\n'); };
  let passed = 0, failed = 0;
  for (const t of tests) {
    const t0 = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(t.fn),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${t.timeout} ms`)), t.timeout); }),
      ]);
      passed++;
      say(`ok - ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      say(`not ok - ${t.name} (${Date.now() - t0} ms)`);
      say(String(e instanceof Error ? e.stack ?? e.message : e).split('\n').map((l) => '    ' + l).join('\n'));
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
  say(`extension host: ${passed} passed, ${failed} failed`);
  return failed;
}
