/**
 * The program of the fake `nvidia-smi` (CommonJS, written to a file with a `#!/usr/bin/env node`
 * line by fake-nvidia-smi.ts). It answers from a JSON state file (FakeNvidiaSmiState): the file
 * FAKE_NVIDIA_SMI_STATE names, else `nvidia-smi-state.json` beside it. It appends the arguments of
 * each call, as a JSON array, to FAKE_NVIDIA_SMI_CALLS, else `nvidia-smi-calls.ndjson` beside it.
 *
 * It answers as the real one does (driver 550) for what it knows: `--query-gpu=FIELDS` and
 * `--query-compute-apps=FIELDS` with `--format=csv[,noheader][,nounits]` (and `-i`), plain
 * `nvidia-smi` (the table, whose header names the driver and CUDA versions), `-q`, `-L` and
 * `--version`. Rows are `, `-separated; a value the GPU does not report is `[N/A]`; indices follow
 * the PCI bus order. A field it does not know, or one the state's `unknownFields` lists (an older
 * driver), ends it as the real one ends: `Field "x" is not a valid field to query.` and a blank line
 * on stdout, exit code 2. Other arguments: the real one's usage error, exit code 2. A GPU marked
 * `lost` (fallen off the bus) keeps its index; a GPU query or `-L` prints `Unable to determine the
 * device handle for GPU0000:3B:00.0: Unknown Error` in its place and exits 15 once the others are
 * listed.
 */
export const FAKE_NVIDIA_SMI_SCRIPT = String.raw`
'use strict';
const fs = require('fs');
const path = require('path');
const stateFile = process.env.FAKE_NVIDIA_SMI_STATE || path.join(__dirname, 'nvidia-smi-state.json');
const callsFile = process.env.FAKE_NVIDIA_SMI_CALLS || path.join(__dirname, 'nvidia-smi-calls.ndjson');
const args = process.argv.slice(2);
fs.appendFileSync(callsFile, JSON.stringify(args) + '\n');
const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const NA = '[N/A]';
const gpus = state.gpus
  .slice()
  .sort((a, b) => (a.pciBusId.toLowerCase() < b.pciBusId.toLowerCase() ? -1 : 1))
  .map((gpu, index) => Object.assign({}, gpu, { index: index }));
const apps = state.computeApps || [];
const unknown = new Set(state.unknownFields || []);
const byUuid = (uuid) => gpus.find((g) => g.uuid === uuid);
const usedMiB = (g) =>
  g.memoryUsedMiB !== undefined
    ? g.memoryUsedMiB
    : apps.filter((a) => a.gpuUuid === g.uuid).reduce((sum, a) => sum + a.usedMemoryMiB, 0);
const known = (v) => (v === null || v === undefined ? NA : String(v));

// field → [header, unit or '', value of a GPU]
const GPU_FIELDS = {
  count: ['count', '', () => String(gpus.length)],
  index: ['index', '', (g) => String(g.index)],
  uuid: ['uuid', '', (g) => g.uuid],
  'pci.bus_id': ['pci.bus_id', '', (g) => g.pciBusId],
  name: ['name', '', (g) => g.name],
  'memory.total': ['memory.total [MiB]', ' MiB', (g) => String(g.memoryTotalMiB)],
  'memory.used': ['memory.used [MiB]', ' MiB', (g) => String(usedMiB(g))],
  'memory.free': ['memory.free [MiB]', ' MiB', (g) => String(g.memoryTotalMiB - usedMiB(g))],
  'utilization.gpu': ['utilization.gpu [%]', ' %', (g) => known(g.utilizationGpu === undefined ? 0 : g.utilizationGpu)],
  'temperature.gpu': ['temperature.gpu', '', (g) => known(g.temperatureC === undefined ? 40 : g.temperatureC)],
  'power.draw': ['power.draw [W]', ' W', (g) => {
    const watts = g.powerW === undefined ? 70 : g.powerW;
    return watts === null ? NA : watts.toFixed(2);
  }],
  driver_version: ['driver_version', '', () => state.driverVersion],
  compute_cap: ['compute_cap', '', (g) => known(g.computeCap)],
  'mig.mode.current': ['mig.mode.current', '', (g) => known(g.migMode)],
  'mig.mode.pending': ['mig.mode.pending', '', (g) => known(g.migModePending === undefined ? g.migMode : g.migModePending)],
  'ecc.errors.uncorrected.volatile.total': ['ecc.errors.uncorrected.volatile.total', '',
    (g) => known(g.eccUncorrectedVolatile === undefined ? 0 : g.eccUncorrectedVolatile)],
};
// What the real one prints in place of a GPU it cannot reach (fallen off the bus): the bus id with
// a 4-digit domain; the exit code once every other GPU is listed.
const LOST_EXIT_CODE = 15;
const unreachable = (g, word) =>
  'Unable to determine the device handle for ' + word + g.pciBusId.slice(-12) + ': Unknown Error';
let lostSeen = false;
for (const [alias, field] of [['gpu_uuid', 'uuid'], ['gpu_bus_id', 'pci.bus_id'], ['gpu_name', 'name']]) {
  GPU_FIELDS[alias] = GPU_FIELDS[field];
}
const APP_FIELDS = {
  pid: ['pid', '', (a) => String(a.pid)],
  process_name: ['process_name', '', (a) => a.processName],
  used_memory: ['used_gpu_memory [MiB]', ' MiB', (a) => String(a.usedMemoryMiB)],
  gpu_uuid: ['gpu_uuid', '', (a) => a.gpuUuid],
  gpu_name: ['gpu_name', '', (a) => byUuid(a.gpuUuid).name],
  gpu_bus_id: ['gpu_bus_id', '', (a) => byUuid(a.gpuUuid).pciBusId],
};
APP_FIELDS.name = APP_FIELDS.process_name;
APP_FIELDS.used_gpu_memory = APP_FIELDS.used_memory;

function options() {
  const found = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const takesValue = ['--query-gpu', '--query-compute-apps', '--format', '-i', '--id'].includes(name);
    found[name] = eq > 0 ? arg.slice(eq + 1) : takesValue ? args[++i] : true;
  }
  return found;
}

function usageError() {
  process.stdout.write("Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n\n");
  return 2;
}

function query(fieldList, table, rows, format) {
  if (typeof fieldList !== 'string' || typeof format !== 'string') return usageError();
  const fields = fieldList.split(',').map((f) => f.trim());
  const bad = fields.find((f) => !table[f] || unknown.has(f));
  if (bad !== undefined) {
    process.stdout.write('Field "' + bad + '" is not a valid field to query.\n\n');
    return 2;
  }
  const flags = format.split(',');
  const lines = flags.includes('noheader') ? [] : [fields.map((f) => table[f][0]).join(', ')];
  for (const row of rows) {
    if (row.lost) {
      lostSeen = true;
      lines.push(unreachable(row, 'GPU'));
      continue;
    }
    lines.push(
      fields
        .map((f) => {
          const [, unit, value] = table[f];
          const raw = row.raw && row.raw[f];
          if (raw !== undefined) return raw;
          const text = value(row);
          return flags.includes('nounits') || text.startsWith('[') ? text : text + unit;
        })
        .join(', '),
    );
  }
  process.stdout.write(lines.map((l) => l + '\n').join(''));
  return lostSeen ? LOST_EXIT_CODE : 0;
}

function selected(id) {
  if (id === undefined) return gpus;
  const ids = String(id).split(',');
  return gpus.filter((g) => ids.includes(String(g.index)) || ids.includes(g.uuid) || ids.includes(g.pciBusId));
}

const pad = (label, value) => label.padEnd(42) + ': ' + value;
const cuda = () => (state.cudaVersion === null ? 'N/A' : state.cudaVersion);

function details() {
  const lines = ['', '==============NVSMI LOG==============', ''];
  lines.push(pad('Timestamp', new Date().toString().slice(0, 24)));
  lines.push(pad('Driver Version', state.driverVersion), pad('CUDA Version', cuda()), '');
  lines.push(pad('Attached GPUs', String(gpus.length)));
  for (const g of gpus) {
    lines.push('GPU ' + g.pciBusId, pad('    Product Name', g.name));
    lines.push('    MIG Mode', pad('        Current', known(g.migMode)));
    lines.push(pad('        Pending', known(g.migModePending === undefined ? g.migMode : g.migModePending)));
    lines.push(pad('    GPU UUID', g.uuid), pad('    Minor Number', String(g.index)));
    lines.push('    PCI', pad('        Bus Id', g.pciBusId));
    lines.push('    FB Memory Usage', pad('        Total', g.memoryTotalMiB + ' MiB'));
    lines.push(pad('        Used', usedMiB(g) + ' MiB'));
    lines.push(pad('        Free', g.memoryTotalMiB - usedMiB(g) + ' MiB'), '');
  }
  return lines.join('\n') + '\n';
}

function summary() {
  const rule = '+-----------------------------------------+------------------------+----------------------+';
  const head =
    '| NVIDIA-SMI ' + state.driverVersion.padEnd(22) + 'Driver Version: ' + state.driverVersion.padEnd(15) +
    'CUDA Version: ' + cuda().padEnd(10) + '|';
  const lines = [new Date().toString().slice(0, 24) + '       ', '+' + '-'.repeat(89) + '+', head];
  lines.push('|-----------------------------------------+------------------------+----------------------+');
  lines.push('| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |');
  lines.push('| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |');
  lines.push('|                                         |                        |               MIG M. |');
  lines.push('|=========================================+========================+======================|');
  for (const g of gpus) {
    const memory = (usedMiB(g) + 'MiB / ' + g.memoryTotalMiB + 'MiB').padStart(22);
    const name = g.name.slice(0, 29).padEnd(31);
    lines.push('| ' + String(g.index).padStart(3) + '  ' + name + 'On  |   ' + g.pciBusId + ' Off |' + '0'.padStart(21) + ' |');
    lines.push('| N/A   33C    P0             70W /  700W | ' + memory + ' |      0%      Default |');
    lines.push('|                                         |                        |' + known(g.migMode).padStart(21) + ' |');
    lines.push(rule);
  }
  return lines.join('\n') + '\n';
}

function list() {
  const lines = [];
  for (const g of gpus) {
    if (g.lost) {
      lostSeen = true;
      lines.push(unreachable(g, 'gpu '));
      continue;
    }
    lines.push('GPU ' + g.index + ': ' + g.name + ' (UUID: ' + g.uuid + ')');
    (g.migDevices || []).forEach((m, i) => {
      lines.push('  MIG ' + m.profile.padEnd(11) + ' Device ' + String(i).padStart(2) + ': (UUID: ' + m.uuid + ')');
    });
  }
  return lines.join('\n') + '\n';
}

function answer() {
  if (state.fail) {
    process.stdout.write(state.fail.stdout);
    return state.fail.exitCode;
  }
  const o = options();
  const id = o['-i'] !== undefined ? o['-i'] : o['--id'];
  if (o['--query-gpu'] !== undefined) return query(o['--query-gpu'], GPU_FIELDS, selected(id), o['--format']);
  if (o['--query-compute-apps'] !== undefined) {
    const visible = new Set(selected(id).filter((g) => !g.lost).map((g) => g.uuid));
    return query(o['--query-compute-apps'], APP_FIELDS, apps.filter((a) => visible.has(a.gpuUuid)), o['--format']);
  }
  const text =
    args.length === 0
      ? summary()
      : args.length === 1 && (o['-q'] || o['--query'])
        ? details()
        : args.length === 1 && (o['-L'] || o['--list-gpus'])
          ? list()
          : null;
  if (text !== null) {
    process.stdout.write(text);
    return lostSeen ? LOST_EXIT_CODE : 0;
  }
  if (args.length === 1 && o['--version']) {
    const nvml = state.driverVersion.split('.').slice(0, 2).join('.');
    const lines = ['NVIDIA-SMI version  : ' + state.driverVersion, 'NVML version        : ' + nvml];
    lines.push('DRIVER version      : ' + state.driverVersion, 'CUDA Version        : ' + cuda());
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  }
  return usageError();
}

setTimeout(() => {
  process.exitCode = answer();
}, state.delayMs || 0);
`;
