/**
 * The name of the file a running local fleet (`npm start`) writes into its data folder
 * (`.gpufleet/`) for the client to find it: its URL and token file. Kept apart from the code that
 * looks for it (resolve-connection.ts, Node only) so the library can export it to a browser too.
 */
export const LOCAL_API_FILE = 'local-api.json';
