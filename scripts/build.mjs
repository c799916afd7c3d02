// Bundles every entry point into dist/ with esbuild.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, logLevel: 'warning' };
const entries = [
  { entryPoints: ['adapter/cli.ts'], outfile: 'dist/cli.js' },
  { entryPoints: ['adapter/dap/main.ts'], outfile: 'dist/adapter.js' },
  { entryPoints: ['adapter/dap/serialclient.ts'], outfile: 'dist/serial-terminal.js' },
  { entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  { entryPoints: ['media/panel.ts'], outfile: 'dist/panel.js', platform: 'browser', format: 'iife' },
];
await Promise.all(entries.filter((e) => existsSync(e.entryPoints[0])).map((e) => build({ ...common, ...e })));

// The panel's icon font: codicons, served from dist/ (the webview loads nothing remote).
import { mkdirSync, copyFileSync } from 'node:fs';
const codicons = 'node_modules/@vscode/codicons/dist';
if (existsSync(codicons)) {
  mkdirSync('dist/codicons', { recursive: true });
  for (const f of ['codicon.css', 'codicon.ttf']) copyFileSync(`${codicons}/${f}`, `dist/codicons/${f}`);
}
