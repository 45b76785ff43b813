/**
 * Multipart bodies for `inject()`, encoded by the platform's FormData (as a browser or fetch
 * would send them): the `spec` field first, then `input` files named by their relative paths.
 */
export interface MultipartBody {
  payload: Buffer;
  headers: { 'content-type': string };
}

export async function multipartBody(
  spec: unknown,
  files: Record<string, string | Buffer>,
  options: { specFirst?: boolean; fileField?: string } = {},
): Promise<MultipartBody> {
  const form = new FormData();
  const addSpec = (): void => form.append('spec', JSON.stringify(spec));
  if (options.specFirst !== false) addSpec();
  for (const [name, body] of Object.entries(files)) {
    form.append(
      options.fileField ?? 'input',
      new Blob([typeof body === 'string' ? body : new Uint8Array(body)]),
      name,
    );
  }
  if (options.specFirst === false) addSpec();
  const response = new Response(form);
  return {
    payload: Buffer.from(await response.arrayBuffer()),
    headers: { 'content-type': response.headers.get('content-type') ?? '' },
  };
}
