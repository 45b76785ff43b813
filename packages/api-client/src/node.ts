/**
 * @gpufleet/api-client/node: the parts of the client that need Node's file system, beside the
 * library (`@gpufleet/api-client`, which also runs in a browser): connecting as the `gpufleet`
 * command does (flags, GPUFLEET_API_URL and GPUFLEET_TOKEN, profiles in config files, a running
 * local fleet), and the input files a submission would send.
 *
 * @example
 * import { connect } from '@gpufleet/api-client/node';
 *
 * const client = await connect({ profile: 'lab' }); // a GpufleetClient, with `.connection`
 * const task = await client.submit({ executer: 'script', params: { script: 'train.sh' } }, { inputs: ['./job'] });
 * await task.wait();
 * await task.download('./results');
 */
export { connect } from './connect.js';
export { collectInputs } from './inputs/input-files.js';
export type { InputFile, InputSource } from './inputs/input-files.js';
export type { Profile } from './profiles/profile-file.js';
export { findLocalApiFile, resolveConnection, userConfigFile } from './profiles/resolve-connection.js';
export type { Connection, ResolveOptions, SubmitDefaults } from './profiles/resolve-connection.js';
