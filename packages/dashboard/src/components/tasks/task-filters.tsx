/**
 * The filters of the tasks page: status, executer, name, tags, whose tasks (admin keys) and which
 * listing (current or archived, with its days). Each change is applied at once (a text box when
 * it is committed: Enter or leaving it) and goes into the URL, so the filtered view is a link.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ListingChoice } from './listing-choice.js';
import { isLive } from '../status-badge.js';
import { StatusFilter } from './status-filter.js';
import { TagFilter } from './tag-filter.js';
import { rangeProblem, type TasksView } from './tasks-view.js';

/** A text box applied when committed; it follows the view when that changes from elsewhere (a search). */
function TextFilter(props: {
  id: string;
  label: string;
  value: string | null;
  placeholder: string;
  help: ComponentChildren;
  list?: string;
  onChange: (value: string | null) => void;
}) {
  const [text, setText] = useState(props.value ?? '');
  useEffect(() => setText(props.value ?? ''), [props.value]);
  return (
    <div class="text-filter">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        placeholder={props.placeholder}
        list={props.list}
        aria-describedby={`${props.id}-help`}
        onChange={(e) => props.onChange(e.currentTarget.value.trim() || null)}
      />
      <small id={`${props.id}-help`} class="muted">
        {props.help}
      </small>
    </div>
  );
}

export function TaskFilters({
  view,
  onChange,
  admin,
  executers,
  tenants,
}: {
  view: TasksView;
  onChange: (view: TasksView) => void;
  admin: boolean;
  /** The executers the live trackers offer (the select's choices). */
  executers: readonly string[];
  /** Tenants to suggest (admin keys). */
  tenants: readonly string[];
}) {
  const set = (change: Partial<TasksView>): void => onChange({ ...view, ...change });
  const executerChoices =
    view.executer && !executers.includes(view.executer) ? [...executers, view.executer] : executers;
  return (
    <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      <StatusFilter
        value={view.statuses}
        archived={view.archived}
        onChange={(statuses) => set({ statuses })}
      />
      <div class="filter-row">
        <div class="text-filter">
          <label for="executer-filter">Executer</label>
          <select
            id="executer-filter"
            value={view.executer ?? ''}
            onChange={(e) => set({ executer: e.currentTarget.value || null })}
          >
            <option value="">any executer</option>
            {executerChoices.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
          <small class="muted">as the live trackers offer them</small>
        </div>
        <TextFilter
          id="name-filter"
          label="Name"
          value={view.name}
          placeholder="any name"
          help={
            <>
              exact, or a prefix ending in <code>*</code>
            </>
          }
          onChange={(name) => set({ name })}
        />
        <TagFilter value={view.tags} onChange={(tags) => set({ tags })} />
        {admin && (
          <TextFilter
            id="tenant-filter"
            label="Tenant"
            value={view.tenant}
            placeholder={view.archived ? 'your own' : 'all tenants'}
            list="tenant-names"
            help={view.archived ? 'the archive is kept per tenant: name one' : 'empty: every tenant'}
            onChange={(tenant) => set({ tenant })}
          />
        )}
        {admin && (
          <datalist id="tenant-names">
            {tenants.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        )}
      </div>
      <ListingChoice
        archived={view.archived}
        from={view.from}
        to={view.to}
        problem={rangeProblem(view)}
        onChange={(change) =>
          // Archived tasks have all ended: a status of a task that runs would match none.
          set(change.archived ? { ...change, statuses: view.statuses.filter((s) => !isLive(s)) } : change)
        }
      />
    </form>
  );
}
