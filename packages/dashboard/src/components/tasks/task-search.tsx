/**
 * One search box for a task: a task id (26 characters) opens that task's page; anything else lists
 * the tasks whose name starts with it (the name filter, as a prefix).
 */
import { useState } from 'preact/hooks';
import { href } from '../../router.js';
import { TASK_ID } from './tasks-view.js';

export function TaskSearch({ onName }: { onName: (prefix: string) => void }) {
  const [text, setText] = useState('');
  const submit = (e: Event): void => {
    e.preventDefault();
    const wanted = text.trim();
    if (wanted === '') return;
    if (TASK_ID.test(wanted.toLowerCase())) {
      location.hash = href('task', { id: wanted.toLowerCase() });
      return;
    }
    onName(wanted.endsWith('*') ? wanted : `${wanted}*`);
    setText('');
  };
  return (
    <form role="search" class="task-search" onSubmit={submit}>
      <label for="task-search">Find a task</label>
      <input
        id="task-search"
        type="search"
        value={text}
        placeholder="task id, or the start of its name"
        autocomplete="off"
        spellcheck={false}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <button type="submit" class="primary">
        Find
      </button>
    </form>
  );
}
