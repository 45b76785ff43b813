/**
 * A service task's service (an executer with a `service` block), live: its state as a badge
 * (waiting for a port, starting, ready, restarting; once it stopped, the task's status), how long
 * it has been ready (ticking), its endpoints `name host:port` each with a copy button, its
 * restarts, why it waits for a port or restarts, and once its lifetime ended it, why. The state
 * comes from the events stream and the record (service-state.ts): endpoints go the moment an event
 * says it is no longer ready.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ServiceState, TaskStatus } from '@gpufleet/api-client';
import { dateTime, duration } from '../../format.js';
import { StatusBadge, statusWords } from '../status-badge.js';
import { serviceWords, type ServiceNow } from './service-state.js';

const TONE: Record<ServiceState, string> = {
  'waiting-for-port': 'warn',
  starting: 'run',
  ready: 'ok',
  restarting: 'warn',
};

export function ServiceBadge({ state }: { state: ServiceState }) {
  return (
    <span class={`badge service-state ${TONE[state]}`} data-service-state={state}>
      {serviceWords(state)}
    </span>
  );
}

type Copied = 'copied' | 'selected' | null;

/**
 * Copies through the clipboard API; where there is none (a page not served over HTTPS) or it
 * refuses, the old way; failing that, selects the text for the person to copy.
 */
async function copyText(text: string, element: HTMLElement | null): Promise<Copied> {
  try {
    await navigator.clipboard.writeText(text);
    return 'copied';
  } catch {
    if (!element) return null;
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    try {
      return document.execCommand('copy') ? 'copied' : 'selected';
    } catch {
      return 'selected';
    }
  }
}

function Endpoint({ name, address }: { name: string; address: string }) {
  const [copied, setCopied] = useState<Copied>(null);
  const code = useRef<HTMLElement>(null);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(null), 2500);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <li data-endpoint={name}>
      <span class="endpoint-name">{name}</span>
      <code ref={code} class="endpoint-address">
        {address}
      </code>
      <button
        type="button"
        class="copy"
        aria-label={`Copy ${name} ${address}`}
        onClick={() => void copyText(address, code.current).then(setCopied)}
      >
        {copied === 'copied' ? 'Copied' : copied === 'selected' ? 'Selected: press Ctrl+C' : 'Copy'}
      </button>
    </li>
  );
}

function Fact({ term, children }: { term: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function ServicePanel({
  service,
  status,
  now,
}: {
  service: ServiceNow;
  status: TaskStatus;
  now: number;
}) {
  const { state } = service;
  const endpoints = Object.entries(service.endpoints ?? {});
  return (
    <section
      class="panel service-panel"
      aria-labelledby="service-title"
      data-state={state ?? status}
      aria-live="polite"
    >
      <header class="panel-head">
        <h2 id="service-title">Service</h2>
        {state ? (
          <ServiceBadge state={state} />
        ) : (
          <StatusBadge status={status} label={`Service: ${status}`} />
        )}
      </header>
      <dl class="facts service-facts">
        <Fact term="State">
          {state === 'ready' && service.readyAt ? (
            <span class="uptime" title={`ready since ${dateTime(service.readyAt)}`}>
              ready for {duration(now - Date.parse(service.readyAt))}
            </span>
          ) : state === null ? (
            <span>stopped: task {statusWords(status)}</span>
          ) : state === 'starting' ? (
            <span>starting: not ready yet</span>
          ) : (
            <span>{serviceWords(state)}</span>
          )}
        </Fact>
        {service.reason && (state === 'waiting-for-port' || state === 'restarting') && (
          <Fact term="Why">
            <span class="service-reason">{service.reason}</span>
          </Fact>
        )}
        <Fact term="Restarts">
          <span class="restarts">{service.restarts}</span>
        </Fact>
        {service.stopped && (
          <Fact term="Ended by">
            <span class="service-stopped">{service.stopped}</span>
          </Fact>
        )}
      </dl>
      {endpoints.length > 0 ? (
        <ul class="endpoints" aria-label="Endpoints">
          {endpoints.map(([name, address]) => (
            <Endpoint key={name} name={name} address={address} />
          ))}
        </ul>
      ) : (
        state !== null && <p class="muted small no-endpoints">Endpoints appear once it is ready.</p>
      )}
    </section>
  );
}
