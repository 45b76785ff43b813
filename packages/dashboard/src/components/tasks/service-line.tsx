/**
 * A service task's service in its row of the tasks table, under its status: while ready its first
 * endpoint (`host:port`, "+1" when it has more; all of them, named, in the title) and how long it
 * has been up; otherwise its state (starting, restarting...) and its restarts. Nothing for a task
 * that runs no service now (the listing's `service` is null).
 */
import type { TaskSummary } from '@gpufleet/api-client';
import { duration } from '../../format.js';

export function ServiceLine({ service, now }: { service: TaskSummary['service']; now: number }) {
  if (!service) return null;
  const endpoints = Object.entries(service.endpoints ?? {});
  const restarts =
    service.restarts > 0 ? ` · ${service.restarts} restart${service.restarts > 1 ? 's' : ''}` : '';
  const first = endpoints[0];
  if (service.state !== 'ready' || !first) {
    return (
      <small class="service-line" data-service-state={service.state}>
        service {service.state.replace(/-/g, ' ')}
        {restarts}
      </small>
    );
  }
  const up = service.readyAt ? ` · up ${duration(now - Date.parse(service.readyAt))}` : '';
  return (
    <small
      class="service-line"
      data-service-state="ready"
      title={endpoints.map(([name, address]) => `${name} ${address}`).join('\n')}
    >
      <span class="mono endpoint">{first[1]}</span>
      {endpoints.length > 1 && <span class="more"> +{endpoints.length - 1}</span>}
      {up}
      {restarts}
    </small>
  );
}
