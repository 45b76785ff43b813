/**
 * The tag filter: the tags a task must all have, as removable chips, and a box to add one
 * (`key=value`, or `key` for any value; Enter or "Add"). A chip per tag rather than one text of
 * tags, so a value may hold commas and spaces.
 */
import { useState } from 'preact/hooks';

/** A tag key as the API takes it: 1–63 letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function TagFilter({
  value,
  onChange,
}: {
  value: readonly string[];
  onChange: (tags: string[]) => void;
}) {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const add = (): void => {
    const tag = text.trim();
    if (tag === '') return;
    const key = tag.includes('=') ? tag.slice(0, tag.indexOf('=')) : tag;
    if (!TAG_KEY.test(key)) {
      setProblem(`"${key}" is not a tag key: letters, digits, . _ - (starting with a letter or digit)`);
      return;
    }
    setProblem(null);
    setText('');
    if (!value.includes(tag)) onChange([...value, tag]);
  };
  return (
    <div class="tag-filter">
      <label for="tag-input">Tags</label>
      <div class="chips">
        {value.map((tag) => (
          <span key={tag} class="chip">
            <code>{tag}</code>
            <button
              type="button"
              aria-label={`Remove tag ${tag}`}
              title="Remove"
              onClick={() => onChange(value.filter((t) => t !== tag))}
            >
              ×
            </button>
          </span>
        ))}
        <input
          id="tag-input"
          value={text}
          placeholder="key=value"
          size={14}
          aria-describedby="tag-help"
          aria-invalid={problem !== null}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key !== 'Enter') return;
            e.preventDefault();
            add();
          }}
        />
        <button type="button" onClick={add} disabled={text.trim() === ''}>
          Add
        </button>
      </div>
      <small id="tag-help" class={problem ? 'error' : 'muted'}>
        {problem ?? 'key=value, or key for any value; a task must have all'}
      </small>
    </div>
  );
}
