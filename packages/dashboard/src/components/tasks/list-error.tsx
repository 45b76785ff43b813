/**
 * Why the task listing could not be read, and what to do about it: a filter the API refused (which
 * one, and clearing it), a tenant this key may not list, a cursor it no longer takes, or an API
 * that does not answer (the page keeps trying; the last page read stays shown).
 */
import { ApiRequestError, ApiUnreachableError } from '@gpufleet/api-client';

export interface ListErrorActions {
  clearFilters: () => void;
  clearTenant: () => void;
  newest: () => void;
}

function advice(error: unknown): { text: string; fix?: keyof ListErrorActions; fixLabel?: string } {
  if (error instanceof ApiRequestError) {
    const fields = error.issues.map((i) => `${i.field.replace(/^query\./, '')}: ${i.reason}`).join('; ');
    switch (error.code) {
      case 'VALIDATION_FAILED':
        return {
          text: `The API refused a filter (${fields || error.message}). Change it, or clear the filters.`,
          fix: 'clearFilters',
          fixLabel: 'Clear filters',
        };
      case 'FORBIDDEN':
        return {
          text: `This key may not list those tasks (${error.message}): a user key lists its own tenant’s only.`,
          fix: 'clearTenant',
          fixLabel: 'List my tenant’s tasks',
        };
      case 'INVALID_CURSOR':
        return {
          text: 'The API no longer takes this page’s place in the list.',
          fix: 'newest',
          fixLabel: 'Go to the newest tasks',
        };
      default:
        return { text: `The API answered ${error.status} ${error.code}: ${error.message}. Trying again.` };
    }
  }
  if (error instanceof ApiUnreachableError) {
    return { text: 'The API does not answer. Trying again; the tasks shown are as last read.' };
  }
  return { text: `${error instanceof Error ? error.message : String(error)}. Trying again.` };
}

export function ListError({ error, actions }: { error: unknown; actions: ListErrorActions }) {
  const { text, fix, fixLabel } = advice(error);
  return (
    <div class="list-error" role="alert">
      <p>
        <strong>Could not list the tasks.</strong> {text}
      </p>
      {fix && (
        <button type="button" onClick={actions[fix]}>
          {fixLabel}
        </button>
      )}
    </div>
  );
}
