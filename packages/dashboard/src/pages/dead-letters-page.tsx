/**
 * Dead letters: what ended without a result and why. First the dead tasks, those the fleet gave up
 * on (a tracker crashed or lost them maxAttempts times, no tracker could ever run them, or their
 * executer was gone); then, apart, the recent failures (the executer ran and failed, or ran past
 * its time limit). Each with its failure code and error, attempts, tracker and time, a link to it
 * and Retry (a new task with the same spec). Read every 10 s while the tab is visible; an admin
 * key sees every tenant's.
 */
import { readPage } from '../components/tasks/use-task-pages.js';
import { DeadLetterTable } from '../components/tasks/dead-letter-table.js';
import { usePoll } from '../hooks/use-poll.js';
import { href } from '../router.js';
import { useSession } from '../session.js';
import '../components/tasks/tasks.css';
import '../components/tasks/dead-letters.css';

const EVERY_MS = 10_000;
const LIMIT = 50;

export function DeadLettersPage() {
  const { client, me } = useSession();
  const admin = me.role === 'admin';
  const tenant = admin ? '*' : undefined;
  const dead = usePoll(
    (signal) => readPage(client, { status: 'dead', limit: LIMIT, tenant }, null, signal),
    EVERY_MS,
    [client],
  );
  const failed = usePoll(
    (signal) => readPage(client, { status: 'failed,timed_out', limit: LIMIT, tenant }, null, signal),
    EVERY_MS,
    [client],
  );
  const tasksHref = (status: string): string => href('tasks', {}, new URLSearchParams({ status }));
  return (
    <section aria-labelledby="dead-title" class="dead-page">
      <h1 id="dead-title">Dead letters</h1>
      <p class="muted lead">
        What ended without a result, newest first{admin ? ', every tenant’s' : ''}: why, and Retry to submit
        it again as a new task.
      </p>
      <DeadLetterTable
        id="dead"
        title="Dead"
        intro="The fleet gave up on these: their tracker crashed or lost them as many times as they allowed (maxAttempts), no live tracker could ever run them, or their tracker lacked their executer."
        list={dead.data}
        error={dead.error}
        client={client}
        showTenant={admin}
        empty={
          <p>
            No dead tasks: nothing was given up on. A task ends dead when its trackers keep crashing under it,
            when no tracker can run it, or when its executer is missing.
          </p>
        }
        allHref={tasksHref('dead')}
      />
      <DeadLetterTable
        id="failed"
        title="Failed and timed out"
        intro="These ran and ended badly: the executer exited with an error or was killed, or it ran past its time limit. Recent ones: tasks that ended a while ago are in the archive."
        list={failed.data}
        error={failed.error}
        client={client}
        showTenant={admin}
        empty={<p>No recent failures.</p>}
        allHref={tasksHref('failed,timed_out')}
      />
    </section>
  );
}
