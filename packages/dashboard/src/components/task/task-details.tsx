/**
 * What the task is and how it went, as a list of facts: executer and version, tenant, queue,
 * priority, whether it may be preempted (and how often it was), its GPUs (how many, which, and
 * what it asked for: models, memory, a share), its attempts, tracker, times, exit code and error,
 * its tags and inputs; and, when it has them, the task it ran after, its env setup line and the
 * SLURM resources it asked for.
 */
import type { ComponentChildren } from 'preact';
import type { TaskView } from '@gpufleet/api-client';
import { dateTime, duration, mib } from '../../format.js';
import { href } from '../../router.js';

function Fact({ term, children }: { term: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** `any GPU`, `H100 or A100 · ≥ 80 GiB each · a 20 GiB share`. */
function gpuRequest(task: TaskView): string {
  const parts = [
    task.gpuModels.length > 0 ? task.gpuModels.join(' or ') : 'any model',
    ...(task.minGpuMemoryMiB !== null ? [`≥ ${mib(task.minGpuMemoryMiB)} each`] : []),
    ...(task.gpuShareMiB !== null ? [`a ${mib(task.gpuShareMiB)} share`] : []),
  ];
  return parts.join(' · ');
}

const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));

export function TaskDetails({ task, now }: { task: TaskView; now: number }) {
  const created = ms(task.createdAt) as number;
  const started = ms(task.startedAt);
  const ended = ms(task.endedAt);
  const tags = Object.entries(task.tags);
  return (
    <section class="panel" aria-labelledby="details-title">
      <h2 id="details-title">Details</h2>
      <dl class="facts">
        <Fact term="Executer">
          {task.executer}
          {task.executerVersion ? <span class="muted"> {task.executerVersion}</span> : null}
        </Fact>
        <Fact term="Tenant">{task.tenant}</Fact>
        <Fact term="Queue">{task.queue}</Fact>
        <Fact term="Priority">{task.priority}</Fact>
        <Fact term="Preemptible">
          {task.preemptible ? 'yes' : 'no'}
          {task.preemptions > 0 && (
            <span>
              {' '}
              · preempted {task.preemptions}×
              {task.preemptedBy && (
                <>
                  {' '}
                  (last for{' '}
                  <a class="mono" href={href('task', { id: task.preemptedBy })}>
                    {task.preemptedBy}
                  </a>
                  )
                </>
              )}
            </span>
          )}
        </Fact>
        <Fact term="GPUs">
          {task.gpus === 0 ? (
            'none (a CPU slot)'
          ) : (
            <>
              {task.gpus}
              {task.gpuIds.length > 0 && <span> · ids {task.gpuIds.join(', ')}</span>}
              <div class="small muted">{gpuRequest(task)}</div>
            </>
          )}
        </Fact>
        <Fact term="Attempts">
          {task.attempt} / {task.maxAttempts}
        </Fact>
        <Fact term="Tracker">{task.tracker ?? <span class="muted">–</span>}</Fact>
        <Fact term="Created">{dateTime(task.createdAt)}</Fact>
        <Fact term="Started">
          {dateTime(task.startedAt)}
          {started !== null && <span class="muted"> · waited {duration(started - created)}</span>}
        </Fact>
        <Fact term="Ended">
          {dateTime(task.endedAt)}
          {started !== null && (
            <span class="muted">
              {' '}
              · {ended === null ? 'running for' : 'ran'} {duration((ended ?? now) - started)}
            </span>
          )}
        </Fact>
        <Fact term="Time limit">{duration(task.timeLimitMs)}</Fact>
        {task.after !== null && (
          <Fact term="After">
            <a class="mono" href={href('task', { id: task.after })}>
              {task.after}
            </a>
            <div class="small muted">starts once that task has ended</div>
          </Fact>
        )}
        {task.envSetup !== null && (
          <Fact term="Env setup">
            <code class="mono small">{task.envSetup}</code>
          </Fact>
        )}
        {Object.keys(task.slurm).length > 0 && (
          <Fact term="SLURM">
            <span class="mono small">
              {Object.entries(task.slurm)
                .map(([key, value]) => `${key}=${String(value)}`)
                .join(' ')}
            </span>
          </Fact>
        )}
        <Fact term="Exit code">
          {task.exitCode ?? <span class="muted">–</span>}
          {task.signal && <span> (signal {task.signal})</span>}
        </Fact>
        {(task.error || task.errorCode) && (
          <Fact term="Error">
            {task.errorCode && <code class="error">{task.errorCode}</code>} {task.error}
          </Fact>
        )}
        {tags.length > 0 && (
          <Fact term="Tags">
            {tags.map(([key, value]) => (
              <span key={key} class="badge tag">
                {key}={value}
              </span>
            ))}
          </Fact>
        )}
        {task.inputs.length > 0 && (
          <Fact term="Inputs">
            {task.inputs.map((input) => (
              <div key={input.name} class="mono small">
                {input.name}
                {input.extract ? ' (extracted)' : ''}
              </div>
            ))}
          </Fact>
        )}
      </dl>
    </section>
  );
}
