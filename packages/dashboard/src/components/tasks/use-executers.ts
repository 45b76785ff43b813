/**
 * The names of the executers the live trackers offer (`GET /v1/executers`), for the executer
 * filter: read once when the page opens; none while unread or when the read fails (the filter
 * then offers only what the URL names).
 */
import { useEffect, useState } from 'preact/hooks';
import type { GpufleetClient } from '@gpufleet/api-client';

export function useExecuters(client: GpufleetClient): string[] {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    const abort = new AbortController();
    void client
      .executers({ signal: abort.signal })
      .then((list) => setNames([...new Set(list.executers.map((e) => e.name))].sort()))
      .catch(() => undefined);
    return () => abort.abort();
  }, [client]);
  return names;
}
