/**
 * Builds an executer image with the gpufleet tracker layered on top, as the executer-tracker's
 * `build_executer_image` did: first the executer's own image from its folder's Dockerfile (when it
 * has one), then the tracker image (the root Dockerfile) FROM it, with the executer folder baked in
 * as the tracker's only executer and labels naming the executer, its version and its manifest digest.
 *
 *   npx tsx scripts/build-executer-image.ts --name dualsph-executer \
 *     --executer-path packages/executers/catalog/dualsphysics \
 *     [--tag TAG] [--base IMAGE] [--platform PLATFORM] [--push] [--dry-run] [-- EXTRA DOCKER BUILD ARGS]
 *
 *   --tag       image tag (default: the executer's version); builds NAME:TAG and NAME-base:TAG
 *   --base      BASE_IMAGE for the executer's Dockerfile, or for the tracker image when the executer
 *               has no Dockerfile (default: each Dockerfile's own default)
 *   --platform  passed to both builds;  --push  pushes NAME:TAG afterwards
 *   --dry-run   prints the docker commands and what they would build; runs nothing (no docker needed)
 *   after --     passed to both `docker build` calls (e.g. -- --build-arg DUALSPHYSICS_URL=...)
 *
 * Needs Docker with BuildKit (Docker 23+, or DOCKER_BUILDKIT=1) for --build-context.
 * Exit codes: 0 built, 1 failed (bad folder or manifest, no docker, a docker command failed), 2 usage.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { register } from 'node:module';
import { delimiter, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type * as Core from '@gpufleet/core';

const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const IMAGE_NAME =
  /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const LABEL = 'org.gpufleet.executer';
const USAGE =
  'usage: npx tsx scripts/build-executer-image.ts --name IMAGE --executer-path DIR [--tag TAG] [--base IMAGE] [--platform P] [--push] [--dry-run] [-- DOCKER BUILD ARGS]';

class UsageError extends Error {}
class BuildError extends Error {}

interface Options {
  name: string;
  executerPath: string;
  tag?: string;
  base?: string;
  platform?: string;
  push: boolean;
  dryRun: boolean;
  extra: string[];
}

interface Executer {
  dir: string;
  name: string;
  version: string;
  digest: string;
  dockerfile: string | null;
}

function parseOptions(argv: string[]): Options {
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  let values;
  try {
    ({ values } = parseArgs({
      args: own,
      strict: true,
      options: {
        name: { type: 'string' },
        'executer-path': { type: 'string' },
        tag: { type: 'string' },
        base: { type: 'string' },
        platform: { type: 'string' },
        push: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!values.name) throw new UsageError('--name is required');
  if (!IMAGE_NAME.test(values.name))
    throw new UsageError(`--name "${values.name}" is not a valid image name`);
  if (!values['executer-path']) throw new UsageError('--executer-path is required');
  if (values.tag !== undefined && !IMAGE_TAG.test(values.tag)) {
    throw new UsageError(`--tag "${values.tag}" is not a valid image tag`);
  }
  return {
    name: values.name,
    executerPath: values['executer-path'],
    tag: values.tag,
    base: values.base,
    platform: values.platform,
    push: values.push ?? false,
    dryRun: values['dry-run'] ?? false,
    extra: split < 0 ? [] : argv.slice(split + 1),
  };
}

/** Imports a workspace package, from `src/` through the `source` export condition when it is not built. */
async function importWorkspace<T>(specifier: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    register(
      'data:text/javascript,export function resolve(s, c, next) { return next(s, { ...c, conditions: [...c.conditions, "source"] }); }',
    );
    return (await import(specifier)) as T;
  }
}

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => null))?.isFile() ?? false;
}

/** Reads and checks the executer folder: its manifest (with core's checks) and optional Dockerfile. */
async function readExecuter(path: string): Promise<Executer> {
  const dir = resolve(path);
  const info = await stat(dir).catch(() => null);
  if (!info) throw new BuildError(`executer folder ${path} does not exist`);
  if (!info.isDirectory()) throw new BuildError(`executer path ${path} is not a folder`);
  const file = join(dir, 'executer.json');
  if (!(await isFile(file))) throw new BuildError(`executer folder ${path} has no executer.json`);
  const bytes = await readFile(file);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new BuildError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const core = await importWorkspace<typeof Core>('@gpufleet/core');
  let manifest;
  try {
    manifest = core.parseManifest(json, file);
  } catch (error) {
    if (!(error instanceof core.ManifestError)) throw error;
    const issues = error.issues.map((i) => `\n  ${i.field}: ${i.reason}`).join('');
    throw new BuildError(`${file} is not a valid executer manifest:${issues}`);
  }
  const dockerfile = join(dir, 'Dockerfile');
  return {
    dir,
    name: manifest.name,
    version: manifest.version,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    dockerfile: (await isFile(dockerfile)) ? dockerfile : null,
  };
}

interface Step {
  what: string;
  argv: string[];
}

interface BuildPlan {
  image: string;
  baseImage: string | null;
  steps: Step[];
}

/** The docker commands that build (and push) the image; nothing here touches docker. */
function planBuild(options: Options, executer: Executer): BuildPlan {
  const tag = options.tag ?? executer.version.replace(/[^A-Za-z0-9_.-]/g, '-');
  const image = `${options.name}:${tag}`;
  const platform = options.platform ? ['--platform', options.platform] : [];
  const steps: Step[] = [];
  let base = options.base ?? null;
  if (executer.dockerfile) {
    const executerImage = `${options.name}-base:${tag}`;
    const buildArgs = options.base ? ['--build-arg', `BASE_IMAGE=${options.base}`] : [];
    const argv = ['docker', 'build', '--file', executer.dockerfile, '--tag', executerImage, ...platform];
    steps.push({
      what: `building ${executerImage}`,
      argv: [...argv, ...buildArgs, ...options.extra, executer.dir],
    });
    base = executerImage;
  }
  const labels = [
    `${LABEL}.name=${executer.name}`,
    `${LABEL}.version=${executer.version}`,
    `${LABEL}.manifest-digest=${executer.digest}`,
    `org.opencontainers.image.title=${options.name}`,
    `org.opencontainers.image.version=${tag}`,
  ].flatMap((label) => ['--label', label]);
  const argv = ['docker', 'build', '--file', join(REPO_ROOT, 'Dockerfile'), '--tag', image, ...platform];
  if (base) argv.push('--build-arg', `BASE_IMAGE=${base}`);
  argv.push('--build-context', `executers=${executer.dir}`, ...labels, ...options.extra, REPO_ROOT);
  steps.push({ what: `building ${image}`, argv });
  if (options.push) steps.push({ what: `pushing ${image}`, argv: ['docker', 'push', image] });
  return { image, baseImage: base, steps };
}

async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return null;
}

/** Runs docker; its output goes to ours unless `capture`, which returns stdout instead. */
function runDocker(
  docker: string,
  args: string[],
  capture = false,
): Promise<{ code: number; stdout: string }> {
  return new Promise((resolveExit, reject) => {
    const child = spawn(docker, args, { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolveExit({ code: code ?? (signal ? 128 : 1), stdout }));
  });
}

const quote = (arg: string): string =>
  /^[A-Za-z0-9_./:=@,+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;

function report(plan: BuildPlan, executer: Executer, options: Options, imageId: string | null): string {
  const built = imageId !== null;
  const where = relative(process.cwd(), executer.dir) || '.';
  const lines = [
    `${built ? 'built' : 'would build'} ${plan.image}${imageId ? ` (${imageId})` : ''}`,
    `  executer         ${executer.name} ${executer.version} (${where})`,
    `  manifest digest  ${executer.digest}`,
    `  base image       ${plan.baseImage ?? "the root Dockerfile's default BASE_IMAGE"}${executer.dockerfile ? ` (built from ${relative(process.cwd(), executer.dockerfile)})` : ''}`,
    `  labels           ${LABEL}.name, ${LABEL}.version, ${LABEL}.manifest-digest`,
    `  pushed           ${options.push ? (built ? 'yes' : 'would be') : 'no'}`,
    `run it: docker run --gpus all -e REDIS_URL=redis://HOST:6379 -e REDIS_CONSUMER_NAME=NAME ${plan.image}`,
  ];
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const executer = await readExecuter(options.executerPath);
  const plan = planBuild(options, executer);
  if (options.dryRun) {
    process.stdout.write(plan.steps.map((s) => `would run: ${s.argv.map(quote).join(' ')}\n`).join(''));
    process.stdout.write(report(plan, executer, options, null));
    return 0;
  }
  const docker = await findOnPath('docker');
  if (!docker) {
    throw new BuildError(
      'docker is not installed or not on PATH; install Docker, or use --dry-run to see the commands',
    );
  }
  for (const step of plan.steps) {
    const args = step.argv.slice(1);
    process.stdout.write(`running: docker ${args.map(quote).join(' ')}\n`);
    const { code } = await runDocker(docker, args);
    if (code !== 0) throw new BuildError(`${step.what} failed: docker exited with code ${code}`);
  }
  const inspect = await runDocker(docker, ['image', 'inspect', '--format', '{{.Id}}', plan.image], true);
  const imageId = inspect.code === 0 && inspect.stdout.trim() !== '' ? inspect.stdout.trim() : 'id unknown';
  process.stdout.write(report(plan, executer, options, imageId));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`build-executer-image: ${error.message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (error instanceof BuildError) {
      process.stderr.write(`build-executer-image: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `build-executer-image: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
