/**
 * The program the S3 test server's child process runs (CommonJS, by `node -e`): s3rver with the
 * patches gpufleet needs. Listing order (S3 lists in byte order of the keys, s3rver in `readdir`
 * order), listing pages (s3rver's continuation tokens use DES, which Node's OpenSSL 3 refuses),
 * ListMultipartUploads and AbortMultipartUpload (which s3rver does not implement), request
 * counting by operation and injected faults, both driven through `/__gpufleet/` control requests.
 * It prints `listening PORT` once it listens and exits when its stdin closes.
 */

/** argv: s3rver's folder, data folder, port (0: any free one), buckets (JSON). */
export const S3RVER_CHILD_SCRIPT = String.raw`
'use strict';
const fs = require('fs');
const path = require('path');
const [root, dir, port, bucketsJson] = process.argv.slice(1);
const utils = require(path.join(root, 'lib/utils.js'));
const SUFFIX = '._S3rver_';
const sortKey = (e) => Buffer.from(e.isDirectory() ? e.name + '/' : e.name.split(SUFFIX)[0]);
utils.walk = function* walk(folder, recurse) {
  const entries = fs.readdirSync(folder, { withFileTypes: true });
  entries.sort((a, b) => Buffer.compare(sortKey(a), sortKey(b)) || (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const p = path.posix.join(folder, e.name);
    if (!e.isDirectory()) yield p;
    else if (!recurse || recurse(p)) yield* walk(p, recurse);
  }
};
// s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 refuses: keep them plain.
const crypto = require('crypto');
const plain = { update: (data, encoding) => Buffer.from(data, encoding), final: () => Buffer.alloc(0) };
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const original = crypto[name];
  crypto[name] = (algorithm, ...rest) => (algorithm === 'des' ? plain : original(algorithm, ...rest));
}
const S3rver = require(root);
const xml = (s) => String(s).replace(/[<>&'"]/g, (c) => '&#' + c.charCodeAt(0) + ';');
const requests = [];
const faults = [];
function operationOf(method, q, hasKey) {
  if (!hasKey) {
    if (method === 'GET') return q.has('uploads') ? 'ListMultipartUploads' : 'ListObjects';
    if (method === 'POST' && q.has('delete')) return 'DeleteObjects';
    return method === 'PUT' ? 'CreateBucket' : 'Other';
  }
  if (method === 'PUT') return q.has('uploadId') ? 'UploadPart' : 'PutObject';
  if (method === 'POST') return q.has('uploads') ? 'CreateMultipartUpload' : 'CompleteMultipartUpload';
  if (method === 'DELETE') return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  return method === 'HEAD' ? 'HeadObject' : method === 'GET' ? 'GetObject' : 'Other';
}
async function drain(req) { for await (const _ of req); }
function reply(ctx, status, body, type = 'application/xml') { ctx.status = status; ctx.type = type; ctx.body = body; }
const s3Error = (code, message) => '<?xml version="1.0" encoding="UTF-8"?><Error><Code>' + code + '</Code><Message>' + xml(message) + '</Message></Error>';
const uploadsDir = (bucket) => path.join(dir, bucket, '._S3rver_uploads');
async function listUploads(ctx, bucket, prefix) {
  const found = [];
  for (const id of await fs.promises.readdir(uploadsDir(bucket)).catch(() => [])) {
    const key = await fs.promises.readFile(path.join(uploadsDir(bucket), id, 'key'), 'utf8').catch(() => null);
    if (key === null || !key.startsWith(prefix)) continue;
    const { mtime } = await fs.promises.stat(path.join(uploadsDir(bucket), id));
    found.push({ key, id, initiated: mtime.toISOString() });
  }
  found.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)) || (a.id < b.id ? -1 : 1));
  const uploads = found.map((u) => '<Upload><Key>' + xml(u.key) + '</Key><UploadId>' + u.id + '</UploadId><Initiated>' + u.initiated + '</Initiated><StorageClass>STANDARD</StorageClass></Upload>');
  reply(ctx, 200, '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>' + xml(bucket) + '</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>' + xml(prefix) + '</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>' + uploads.join('') + '</ListMultipartUploadsResult>');
}
async function abortUpload(ctx, bucket, key, id) {
  const folder = path.join(uploadsDir(bucket), /^[0-9a-f]+$/.test(id) ? id : '-');
  const stored = await fs.promises.readFile(path.join(folder, 'key'), 'utf8').catch(() => null);
  if (stored !== key) return reply(ctx, 404, s3Error('NoSuchUpload', 'The specified upload does not exist.'));
  await fs.promises.rm(folder, { recursive: true, force: true });
  ctx.status = 204;
}
async function control(ctx, what) {
  if (what === 'requests') return reply(ctx, 200, JSON.stringify(requests), 'application/json');
  if (what === 'reset') { requests.length = 0; faults.length = 0; ctx.status = 204; return; }
  let body = '';
  for await (const chunk of ctx.req) body += chunk;
  faults.push(JSON.parse(body));
  ctx.status = 204;
}
async function shim(ctx, next) {
  const url = new URL(ctx.req.url, 'http://localhost');
  const [bucket = '', ...rest] = url.pathname.slice(1).split('/').map(decodeURIComponent);
  if (bucket === '__gpufleet') return control(ctx, rest[0]);
  const key = rest.join('/');
  const operation = operationOf(ctx.method, url.searchParams, key !== '');
  requests.push({ operation, method: ctx.method, url: ctx.req.url });
  const fault = faults.find((f) => f.count > 0 && f.operation === operation);
  if (fault) {
    fault.count--;
    await drain(ctx.req);
    return reply(ctx, fault.status || 503, s3Error(fault.code || 'ServiceUnavailable', 'injected by the test'));
  }
  if (operation === 'ListMultipartUploads') return listUploads(ctx, bucket, url.searchParams.get('prefix') || '');
  if (operation === 'AbortMultipartUpload') return abortUpload(ctx, bucket, key, url.searchParams.get('uploadId'));
  return next();
}
const server = new S3rver({
  address: '127.0.0.1', port: Number(port), directory: dir, silent: true, vhostBuckets: false,
  configureBuckets: JSON.parse(bucketsJson).map((name) => ({ name, configs: [] })),
});
server.middleware.unshift(shim);
process.stdin.on('close', () => process.exit(0)).resume();
server.run().then((address) => process.stdout.write('listening ' + address.port + '\n'), (error) => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(1);
});
`;
