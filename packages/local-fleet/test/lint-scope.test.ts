// `npm run lint` checks the project's own files, not whatever else lies in the repository's folder:
// a task `gpufleet download` saved as ./<id>/, `npm start`'s .gpufleet/, a person's notes. The lint
// runs here, with the project's own script and configuration, in a small copy of the repository
// that holds such files, all badly formatted and failing the lint rules. And every file of the
// repository is still checked: none falls outside what the two tools look at.
import { execFileSync, spawnSync } from 'node:child_process';
import { access, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { getFileInfo } from 'prettier';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from '@gpufleet/testkit';

const temp = useTempDirs();
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CONFIG_FILES = [
  'package.json',
  'eslint.config.mjs',
  '.prettierignore',
  '.prettierrc.json',
  '.gitignore',
  'tsconfig.base.json',
  'tsconfig.test.json',
];

// Badly formatted, and failing the lint rules (an unused variable; a .ts file in no tsconfig).
const MESSY_JSON = '{"status":"succeeded",   "frames":[1,2,3]}\n';
const MESSY_TS = 'var  unused = 1\n';
const MESSY_MD = '#  Results\n*  one\n*  two\n';

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, body] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), body);
  }
}

function run(command: string, args: string[], cwd: string) {
  return spawnSync(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd },
    encoding: 'utf8',
    timeout: 80_000,
  });
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

describe('npm run lint', () => {
  it(
    'passes with downloaded tasks, .gpufleet/ and notes in the folder, and still checks the project',
    { timeout: 120_000 },
    async () => {
      const dir = await temp.make();
      for (const file of CONFIG_FILES) await copyFile(join(ROOT, file), join(dir, file));
      await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      await writeFiles(dir, { 'packages/demo/src/index.ts': 'export const answer = 42;\n' });
      const stray = {
        // `gpufleet download 06h43w...` from the repository: the task's outputs in ./<id>/.
        '06h43wfmpfn2sg58h3dpv3xh10/result.json': MESSY_JSON,
        '06h43wfmpfn2sg58h3dpv3xh10/frames/summary.md': MESSY_MD,
        '06h43wfmpfn2sg58h3dpv3xh10/post.ts': MESSY_TS,
        '06h43wfmpfn2sg58h3dpv3xh10/plot.js': MESSY_TS,
        'dam-break/final.json': MESSY_JSON,
        // `npm start`: its data folder, here and in a package folder it was run from.
        '.gpufleet/local-api.json': MESSY_JSON,
        '.gpufleet/artifacts/06h43wfmpfn2sg58h3dpv3xh10/out.json': MESSY_JSON,
        '.gpufleet/work/task/run.js': MESSY_TS,
        'packages/demo/.gpufleet/local-api.json': MESSY_JSON,
        'packages/demo/.gpufleet/work/run.ts': MESSY_TS,
        // A person's own files beside the project's.
        'notes.md': MESSY_MD,
        'try.mjs': MESSY_TS,
      };
      await writeFiles(dir, stray);

      const lint = run('npm', ['run', 'lint'], dir);
      expect(lint.status, `${lint.stdout}\n${lint.stderr}`).toBe(0);
      expect(lint.stdout).toMatch(/All matched files use Prettier code style!/);

      // The project's own files are still checked, and only they are reported.
      await writeFiles(dir, { 'packages/demo/src/messy.ts': MESSY_TS.replace('var', 'export const') });
      const prettier = run(join(ROOT, 'node_modules', '.bin', 'prettier'), ['--check', '.'], dir);
      expect(prettier.status).not.toBe(0);
      const reported = [...`${prettier.stdout}${prettier.stderr}`.matchAll(/\[warn\] (\S+)\n/g)].map(
        (m) => m[1],
      );
      expect(reported).toEqual(['packages/demo/src/messy.ts']);
      for (const path of Object.keys(stray)) expect(await exists(join(dir, path))).toBe(true);
    },
  );

  it('checks every file of the repository that the tools can read', async () => {
    const files = execFileSync('git', ['ls-files', '-z', '--cached'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter(Boolean);
    const present: string[] = [];
    for (const file of files) if (await exists(join(ROOT, file))) present.push(file);
    expect(present.length).toBeGreaterThan(100);

    const ignorePath = [join(ROOT, '.gitignore'), join(ROOT, '.prettierignore')];
    const notFormatted: string[] = [];
    for (const file of present) {
      const { inferredParser } = await getFileInfo(join(ROOT, file));
      if (inferredParser && (await getFileInfo(join(ROOT, file), { ignorePath })).ignored)
        notFormatted.push(file);
    }
    expect(notFormatted).toEqual(['package-lock.json']);

    const eslint = new ESLint({ cwd: ROOT });
    const notLinted: string[] = [];
    for (const file of present.filter((f) => /\.(c|m)?[jt]s$/.test(f))) {
      if (await eslint.isPathIgnored(join(ROOT, file))) notLinted.push(file);
    }
    expect(notLinted).toEqual([]);
  });
});
