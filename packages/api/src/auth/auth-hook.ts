/**
 * Bearer authentication for every route of the plugin context it is added to (all of /v1). Runs
 * at onRequest, before any body is read. Only the Authorization header is read, never the query
 * string (URLs end up in logs and browser histories). A route with `config: { role: 'admin' }`
 * is refused (403) to other roles.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { ApiKeyring, Principal, Role } from './api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts for; set by the auth hook on every /v1 route. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The role a route needs (default: any key). */
    role?: Role;
  }
}

const unauthorized = (message: string): ApiError =>
  new ApiError('UNAUTHORIZED', message, { headers: { 'www-authenticate': 'Bearer realm="gpufleet"' } });

export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer +([^\s]+) *$/i.exec(header);
  return match?.[1] ?? null;
}

export function installAuth(app: FastifyInstance, keyring: ApiKeyring): void {
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', null);
  app.addHook('onRequest', (request, _reply, done) => {
    const token = bearerToken(request.headers.authorization);
    if (token === null) return done(unauthorized('an API key is required: Authorization: Bearer <key>'));
    const principal = keyring.authenticate(token);
    if (principal === null) return done(unauthorized('the API key is not known'));
    // The request log line names the tenant (http/request-log.ts); no child logger per request.
    request.principal = principal;
    const needed = request.routeOptions.config.role;
    if (needed === 'admin' && principal.role !== 'admin') {
      return done(new ApiError('FORBIDDEN', 'this route needs an admin key'));
    }
    done();
  });
}

/** The principal of an authenticated request (the auth hook ran). */
export function principalOf(request: FastifyRequest): Principal {
  const principal = request.principal;
  if (!principal) throw new ApiError('UNAUTHORIZED', 'an API key is required');
  return principal;
}
