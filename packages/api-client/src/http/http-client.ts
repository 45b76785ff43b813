/**
 * HTTP to the gpufleet API over the global fetch (Node's or a browser's): the bearer key, query
 * strings, JSON bodies, and retries with backoff (RetryBudget) on connection errors and on
 * 502/503/504, honouring `Retry-After`; `onRetry` hears of each retry as it starts, so a caller can
 * say that it waits. A body that must be sent again on a retry is given as a factory, so an upload
 * is streamed afresh each time and never held in memory. Error answers become `ApiRequestError`
 * with the API's code; an API that never answered becomes `ApiUnreachableError`.
 */
import { ApiRequestError, ApiUnreachableError } from '../errors.js';
import { RetryBudget, retryAfterMs } from './retry-budget.js';

export type QueryValue = string | number | boolean | readonly string[] | undefined;

/** A body that is made anew for each try. */
export interface RequestBody {
  stream: ReadableStream<Uint8Array>;
  contentType: string;
  /** Sent as Content-Length, so the API can refuse an oversized upload before it is sent. */
  length?: number;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT';
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  json?: unknown;
  body?: () => RequestBody;
  /** When sending the body failed on the client's side (an input changed): that error, not retried. */
  bodyFailure?: () => Error | null;
  signal?: AbortSignal;
  /** Retry connection errors and 503s (default true). */
  retry?: boolean;
  /** The budget to spend (default: a new one of the client's `retryForMs`). */
  budget?: RetryBudget;
}

/** A request about to be tried again: why, and how long it may go on retrying. */
export interface RetryNotice {
  /** The API's base URL. */
  url: string;
  /** What the request would fail with now: no connection (`ApiUnreachableError`), or a 502/503/504. */
  error: ApiUnreachableError | ApiRequestError;
  /** Retries of this request so far, this one included. */
  attempt: number;
  /** The pause before this retry. */
  delayMs: number;
  /** How long this request keeps retrying in all. */
  retryForMs: number;
}

export interface HttpClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** The API key sent as `Authorization: Bearer`. */
  token?: string | null;
  /** How long one request keeps retrying while the API is unreachable or busy (default 30 s). */
  retryForMs?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /** Called before each retry of a request, with why it is retried (e.g. to tell a person once). */
  onRetry?: (notice: RetryNotice) => void;
}

const RETRY_STATUSES = new Set([502, 503, 504]);

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

/** Reads an error answer: the API's `{error: {code, message, details}}`, or what there is. */
export async function errorFrom(response: Response): Promise<ApiRequestError> {
  const requestId = response.headers.get('x-request-id');
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const error = body.error;
    if (error && typeof error.code === 'string') {
      return new ApiRequestError(error.code, String(error.message ?? error.code), {
        status: response.status,
        details: (error.details as Record<string, unknown> | undefined) ?? {},
        requestId,
      });
    }
  } catch {
    // not JSON: described below
  }
  const snippet = text.trim().slice(0, 200);
  return new ApiRequestError(
    `HTTP_${response.status}`,
    `the API answered ${response.status} ${response.statusText}${snippet ? `: ${snippet}` : ''}`,
    { status: response.status, requestId },
  );
}

export class HttpClient {
  readonly baseUrl: string;
  readonly retryForMs: number;
  readonly #token: string | null;
  readonly #fetch: typeof globalThis.fetch;
  readonly #onRetry: ((notice: RetryNotice) => void) | null;

  constructor(options: HttpClientOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.#token = options.token ?? null;
    this.retryForMs = options.retryForMs ?? 30_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#onRetry = options.onRetry ?? null;
  }

  newBudget(): RetryBudget {
    return new RetryBudget(this.retryForMs);
  }

  url(path: string, query: Record<string, QueryValue> = {}): string {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      const values = Array.isArray(value) ? value : [String(value)];
      for (const v of values) url.searchParams.append(key, v);
    }
    return url.toString();
  }

  /** A successful answer (2xx or 304), its body unread; throws for anything else. */
  async request(path: string, options: RequestOptions = {}): Promise<Response> {
    const url = this.url(path, options.query);
    const budget = options.budget ?? this.newBudget();
    for (;;) {
      const headers: Record<string, string> = { ...options.headers };
      if (this.#token) headers.authorization = `Bearer ${this.#token}`;
      let body: RequestInit['body'];
      if (options.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(options.json);
      } else if (options.body) {
        const made = options.body();
        headers['content-type'] = made.contentType;
        if (made.length !== undefined) headers['content-length'] = String(made.length);
        body = made.stream;
      }
      let response: Response;
      // Called as a plain function: a browser's fetch throws when called as a method of another object.
      const fetch = this.#fetch;
      try {
        response = await fetch(url, {
          method: options.method ?? 'GET',
          headers,
          body,
          signal: options.signal,
          ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (error) {
        if (isAbort(error, options.signal)) throw error;
        const failed = options.bodyFailure?.();
        if (failed) throw failed;
        const unreachable = new ApiUnreachableError(this.baseUrl, error);
        if (options.retry !== false && (await this.#pause(budget, null, unreachable, options.signal)))
          continue;
        throw unreachable;
      }
      if (response.ok || response.status === 304) return response;
      if (RETRY_STATUSES.has(response.status) && options.retry !== false) {
        const wait = retryAfterMs(response.headers.get('retry-after'));
        const error = await errorFrom(response);
        if (await this.#pause(budget, wait, error, options.signal)) continue;
        throw error;
      }
      throw await errorFrom(response);
    }
  }

  /** Waits before a retry, telling `onRetry` first; false when the budget is spent. */
  #pause(
    budget: RetryBudget,
    retryAfter: number | null,
    error: RetryNotice['error'],
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    return budget.pause(retryAfter, signal, (delayMs) =>
      this.#onRetry?.({
        url: this.baseUrl,
        error,
        attempt: budget.attempts,
        delayMs,
        retryForMs: budget.retryForMs,
      }),
    );
  }

  async json<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(path, {
      ...options,
      headers: { accept: 'application/json', ...options.headers },
    });
    return (await response.json()) as T;
  }
}
