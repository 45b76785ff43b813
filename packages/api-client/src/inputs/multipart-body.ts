/**
 * The multipart body of a submission with inputs (docs/api.md, POST /v1/tasks): the `spec` field
 * first, then one `input` part per file, its name being its path in the inputs folder. Files are
 * read from disk as the request is sent (pull-based, 64 KiB at a time), never held whole; the
 * length is computed up front and sent as Content-Length, so an oversized upload is refused
 * before it is sent. Each call of the factory starts a fresh body (a retried submit). Node only,
 * loaded like input-files.ts.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { InputError } from '../errors.js';
import type { RequestBody } from '../http/http-client.js';
import type { InputFile } from './input-files.js';

export interface UploadProgress {
  /** Bytes of input files sent so far (of this try). */
  bytes: number;
  totalBytes: number;
  /** The file being sent. */
  file: string;
  filesDone: number;
  files: number;
}

export interface MultipartBody {
  make: () => RequestBody;
  /** An error reading the inputs during the last try (a file changed size): not worth a retry. */
  failure(): InputError | null;
}

export function multipartBody(
  spec: unknown,
  files: readonly InputFile[],
  onProgress?: (progress: UploadProgress) => void,
): MultipartBody {
  const boundary = `----gpufleet-${randomBytes(12).toString('hex')}`;
  const specPart = Buffer.from(
    `--${boundary}\r\ncontent-disposition: form-data; name="spec"\r\n` +
      `content-type: application/json\r\n\r\n${JSON.stringify(spec)}\r\n`,
  );
  const heads = files.map((f) =>
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="input"; filename="${f.name}"\r\n` +
        'content-type: application/octet-stream\r\n\r\n',
    ),
  );
  const crlf = Buffer.from('\r\n');
  const tail = Buffer.from(`--${boundary}--\r\n`);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const length =
    specPart.length + heads.reduce((sum, h) => sum + h.length + crlf.length, 0) + totalBytes + tail.length;
  let failure: InputError | null = null;

  async function* parts(): AsyncGenerator<Uint8Array> {
    yield specPart;
    let bytes = 0;
    for (const [i, file] of files.entries()) {
      yield heads[i] as Buffer;
      let read = 0;
      for await (const chunk of createReadStream(file.path, { highWaterMark: 64 * 1024 })) {
        read += (chunk as Buffer).length;
        bytes += (chunk as Buffer).length;
        if (read > file.size) break;
        yield chunk as Buffer;
        onProgress?.({ bytes, totalBytes, file: file.name, filesDone: i, files: files.length });
      }
      if (read !== file.size) {
        failure = new InputError(
          `${file.path} changed while it was being sent (${file.size} → ${read} bytes)`,
        );
        throw failure;
      }
      yield crlf;
    }
    onProgress?.({
      bytes,
      totalBytes,
      file: files.at(-1)?.name ?? '',
      filesDone: files.length,
      files: files.length,
    });
    yield tail;
  }

  return {
    failure: () => failure,
    make: () => {
      failure = null;
      const iterator = parts();
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { value, done } = await iterator.next();
            if (done) controller.close();
            else controller.enqueue(value);
          } catch (error) {
            controller.error(error);
          }
        },
        async cancel() {
          await iterator.return(undefined);
        },
      });
      return { stream, contentType: `multipart/form-data; boundary=${boundary}`, length };
    },
  };
}
