/**
 * Download links: a short-lived random token that stands for one output file or the outputs zip of
 * one task, so that a browser can download it by following a plain link (an `<a href>` sends no
 * Authorization header, and the API key must never be in a URL). The token is 32 random bytes
 * (base64url), stored in Redis under the fleet prefix (core's `downloadLinkKey`) with a TTL of
 * DOWNLOAD_LINK_TTL_MS; the value says which task, of which tenant, and what of its outputs. A
 * link may be followed any number of times until it expires (range requests, retries, a second
 * click), and grants nothing else.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { downloadLinkKey } from '@gpufleet/core';
import { TASK_ID } from '../schemas/common.js';

/** How long a link works. */
export const DOWNLOAD_LINK_TTL_MS = 60_000;

/** What a link serves: one output file (by its manifest path), or the zip of all outputs. */
export type DownloadTarget = { path: string } | { zip: true };

/** A link as stored: the task (and its tenant, as the finder checks it) and what it serves. */
export type DownloadLink = { tenant: string; taskId: string } & DownloadTarget;

/** 32 bytes in base64url, unpadded. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Stores a new link; its token and when it expires (ms since the epoch, by `now`). */
export async function createDownloadLink(
  redis: Redis,
  prefix: string,
  link: DownloadLink,
  now: number,
): Promise<{ token: string; expiresAt: number }> {
  const token = randomBytes(32).toString('base64url');
  const value: DownloadLink =
    'zip' in link
      ? { tenant: link.tenant, taskId: link.taskId, zip: true }
      : { tenant: link.tenant, taskId: link.taskId, path: link.path };
  await redis.set(downloadLinkKey(prefix, token), JSON.stringify(value), 'PX', DOWNLOAD_LINK_TTL_MS);
  return { token, expiresAt: now + DOWNLOAD_LINK_TTL_MS };
}

function parseLink(raw: string): DownloadLink | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { tenant, taskId, path, zip } = value as Record<string, unknown>;
  if (typeof tenant !== 'string' || typeof taskId !== 'string' || !TASK_ID.test(taskId)) return null;
  if (zip === true) return { tenant, taskId, zip: true };
  return typeof path === 'string' ? { tenant, taskId, path } : null;
}

/** The link of a token, or null when the token is malformed, unknown or expired. */
export async function readDownloadLink(
  redis: Redis,
  prefix: string,
  token: string,
): Promise<DownloadLink | null> {
  if (!TOKEN.test(token)) return null;
  const raw = await redis.get(downloadLinkKey(prefix, token));
  return raw === null ? null : parseLink(raw);
}
