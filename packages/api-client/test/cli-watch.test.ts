// `gpufleet watch DIR` against a real fleet: executable scripts dropped in to_run/ go to running/
// while their task runs, then to complete/ or fail/ with their .stdout and .stderr; a watch that is
// stopped and started again picks its running scripts up without running them twice.
import { access, chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRedis, useTempDirs, waitFor } from '@gpufleet/testkit';
import {
  parseNdjson,
  runCli,
  startCli,
  startCliFleet,
  writeFiles,
  type CliFleet,
} from './helpers/cli-fleet.js';

const redis = useRedis();
const temp = useTempDirs();
let fleet: CliFleet;

beforeAll(async () => {
  fleet = await startCliFleet(redis.server, temp);
});
afterAll(async () => {
  await fleet?.close();
});

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

interface WatchRecord {
  event: string;
  script?: string;
  taskId?: string;
  status?: string;
  folder?: string;
  replayed?: boolean;
  succeeded?: number;
  failed?: number;
}

describe('gpufleet watch', () => {
  it('runs the executable scripts of to_run/ in name order into complete/ and fail/', async () => {
    const dir = await temp.make();
    await writeFiles(join(dir, 'to_run'), {
      'a-ok.sh': '#!/bin/sh\necho "a says hi on $CUDA_VISIBLE_DEVICES"\necho "a warns" >&2\n',
      'b-fails.sh': '#!/bin/sh\necho "b gives up" >&2\nexit 2\n',
      'c-ok.sh': '#!/bin/sh\necho c\n',
      'notes.txt': 'not executable, left alone\n',
    });
    const result = await runCli(['watch', dir, '--exit-when-empty', '--gpus', '1', '--json'], {
      env: fleet.env,
    });
    expect(result.code, result.stderr).toBe(1); // one script failed
    const records = parseNdjson<WatchRecord>(result.stdout);
    const submitted = records.filter((r) => r.event === 'submitted').map((r) => r.script);
    expect(submitted).toEqual(['a-ok.sh', 'b-fails.sh', 'c-ok.sh']);
    expect(records.at(-1)).toEqual({ event: 'done', succeeded: 2, failed: 1 });
    expect((await readdir(join(dir, 'complete'))).sort()).toEqual([
      'a-ok.sh',
      'a-ok.sh.stderr',
      'a-ok.sh.stdout',
      'c-ok.sh',
      'c-ok.sh.stderr',
      'c-ok.sh.stdout',
    ]);
    expect(await readFile(join(dir, 'complete', 'a-ok.sh.stdout'), 'utf8')).toMatch(/^a says hi on \d\n$/);
    expect(await readFile(join(dir, 'complete', 'a-ok.sh.stderr'), 'utf8')).toBe('a warns\n');
    expect((await readdir(join(dir, 'fail'))).sort()).toEqual([
      'b-fails.sh',
      'b-fails.sh.stderr',
      'b-fails.sh.stdout',
    ]);
    expect(await readFile(join(dir, 'fail', 'b-fails.sh.stderr'), 'utf8')).toBe('b gives up\n');
    expect(await readdir(join(dir, 'to_run'))).toEqual(['notes.txt']);
    expect(await readdir(join(dir, 'running'))).toEqual([]);
  });

  it('moves a script to running/ while it runs, and picks it up again after a restart', async () => {
    const dir = await temp.make();
    const gate = join(dir, 'gate');
    const env = fleet.env;
    const first = startCli(['watch', dir, '--interval', '100ms', '--json'], { env });
    await waitFor(() => exists(join(dir, 'to_run')), { message: 'the watch made its folders' });
    const script = join(dir, 'to_run', 'slow.sh');
    await writeFile(script, `#!/bin/sh\nwhile [ ! -e '${gate}' ]; do sleep 0.05; done\necho "slow done"\n`);
    await chmod(script, 0o755);
    await waitFor(() => exists(join(dir, 'running', 'slow.sh')), { message: 'slow.sh in running/' });
    expect(await exists(script)).toBe(false);
    // The script is moved first, then submitted: its record follows the move.
    await waitFor(() => first.stdout.includes('"submitted"'), {
      message: 'the first watch submitted slow.sh',
    });
    const taskId = parseNdjson<WatchRecord>(first.stdout).find((r) => r.event === 'submitted')?.taskId;
    expect(taskId).toMatch(/^[0-9a-z]{26}$/);
    // Ctrl-C: the watch stops, the task goes on, the script stays in running/.
    first.child.kill('SIGINT');
    expect((await first.done).code).toBe(130);
    expect(await exists(join(dir, 'running', 'slow.sh'))).toBe(true);

    const second = startCli(['watch', dir, '--interval', '100ms', '--exit-when-empty', '--json'], { env });
    await waitFor(() => second.stdout.includes('"submitted"'), {
      message: 'the second watch took slow.sh up',
    });
    await writeFile(gate, '');
    const result = await second.done;
    expect(result.code, result.stderr).toBe(0);
    const records = parseNdjson<WatchRecord>(result.stdout);
    expect(records[0]).toMatchObject({ event: 'submitted', script: 'slow.sh', taskId, replayed: true });
    expect(records[1]).toMatchObject({
      event: 'ended',
      script: 'slow.sh',
      taskId,
      status: 'succeeded',
      folder: 'complete',
    });
    expect(await readFile(join(dir, 'complete', 'slow.sh.stdout'), 'utf8')).toBe('slow done\n');
    const tasks = await runCli(['ls', '--executer', 'script', '--json', '--all'], { env });
    const runs = (JSON.parse(tasks.stdout) as { items: Array<{ id: string }> }).items.filter(
      (t) => t.id === taskId,
    );
    expect(runs).toHaveLength(1);
  });

  it('puts a script the API refuses in fail/ with the reason', async () => {
    const dir = await temp.make();
    await writeFiles(join(dir, 'to_run'), { 'too-big.sh': '#!/bin/sh\necho never\n' });
    const result = await runCli(['watch', dir, '--exit-when-empty', '--gpus', '65'], { env: fleet.env });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/too-big\.sh: refused \(VALIDATION_FAILED/);
    expect(await readFile(join(dir, 'fail', 'too-big.sh.stderr'), 'utf8')).toMatch(/VALIDATION_FAILED/);
  });
});
