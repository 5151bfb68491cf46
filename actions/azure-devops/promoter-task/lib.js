'use strict';
// Pure helpers of the promoter task: no task library, no I/O. index.js wires them up.

/** The names of the per-registry variables promoter reads (promoter.registry.credentials). */
const ENV_PREFIX = 'PROMOTER_REGISTRY_';

/** The Entra ID scope (v2) and resource (managed identity, v1) of Azure Container Registry. */
const ACR_SCOPE = 'https://containerregistry.azure.net/.default';
const ACR_RESOURCE = 'https://containerregistry.azure.net';

const COMMANDS = ['run', 'plan', 'apply', 'check', 'promote', 'copy', 'rollback'];

/** Exit code of promoter -> the task's result message (DESIGN §3). */
const EXIT_MESSAGES = {
  1: 'refused by policy or tag conflict',
  2: 'bad input',
  3: 'operation failed',
  130: 'interrupted',
};

class InputError extends Error {}

/**
 * Split a string into words as a POSIX shell would, without running anything:
 * blanks separate words; '...' keeps everything literally; "..." keeps everything
 * but lets a backslash escape " \ $ ` and a newline; a backslash outside quotes
 * escapes the next character. No expansion of variables, globs or commands.
 */
function splitArgs(text) {
  const words = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const s = text || '';
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
      i += 1;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new InputError(`args: unterminated single quote at character ${i + 1}`);
      word += s.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      inWord = true;
      i += 1;
      let closed = false;
      while (i < s.length) {
        const d = s[i];
        if (d === '"') {
          closed = true;
          i += 1;
          break;
        }
        if (d === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1])) {
          if (s[i + 1] !== '\n') word += s[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i += 1;
      }
      if (!closed) throw new InputError('args: unterminated double quote');
    } else if (c === '\\') {
      if (i + 1 < s.length) {
        if (s[i + 1] !== '\n') {
          word += s[i + 1];
          inWord = true;
        }
        i += 2;
      } else {
        throw new InputError('args: a trailing backslash escapes nothing');
      }
    } else {
      word += c;
      inWord = true;
      i += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The image names of the `images` input: comma- or newline-separated, blanks dropped. */
function splitList(text) {
  return (text || '')
    .split(/[,\r\n]+/)
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * promoter's arguments (after `python -m promoter --ci azure-devops`) for the task's inputs
 * (`--debug` in `args` first, as promoter takes it before the command):
 * { command, pipeline, images: [], stages, planFile, args: [] }.
 */
function promoterArgs(inputs) {
  const args = promoterCommandArgs(inputs);
  // promoter's own options (before the command): --debug given in `args` goes there.
  const global = args.filter((arg) => GLOBAL_OPTIONS.includes(arg));
  return [...global, ...args.filter((arg) => !GLOBAL_OPTIONS.includes(arg))];
}

/** The options promoter takes before its command only. */
const GLOBAL_OPTIONS = ['--debug'];

function promoterCommandArgs(inputs) {
  const command = (inputs.command || 'run').trim().toLowerCase();
  const pipeline = inputs.pipeline || 'pipeline.yml';
  const images = (inputs.images || []).flatMap((name) => ['--image', name]);
  const extra = inputs.args || [];
  switch (command) {
    case 'run': {
      const stages = inputs.stages ? ['--stage', inputs.stages] : [];
      return ['run', '-f', pipeline, ...images, ...stages, ...extra];
    }
    case 'promote':
      return ['run', '-f', pipeline, ...images, '--stage', 'check,promote', ...extra];
    case 'plan':
      return ['plan', '-f', pipeline, '--out', inputs.planFile, ...extra];
    case 'apply':
      return ['apply', inputs.planFile, ...extra];
    case 'check':
      return ['check', '-f', pipeline, ...extra];
    case 'rollback': // IMAGE from images; --tag, --to, --reason from args or the environment
      return ['rollback', '-f', pipeline, ...(inputs.images || []), ...extra];
    case 'copy':
      if (extra.length === 0) throw new InputError('copy: give SRC and DST in the args input');
      return ['copy', ...extra];
    default:
      throw new InputError(`command: '${command}' is not one of ${COMMANDS.join(', ')}`);
  }
}

/** `host[:port]` of a registry given as a URL or a bare host (lowercase; no path). */
function registryHost(value) {
  let text = (value || '').trim();
  if (!text) return '';
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `https://${text}`;
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(`containerRegistry: '${value}' is not a registry URL or host`);
  }
  return url.host.toLowerCase();
}

/** `PROMOTER_REGISTRY_<HOST>_`: every character but ASCII letters and digits -> `_`, uppercased. */
function hostEnvPrefix(host) {
  return ENV_PREFIX + host.replace(/[^A-Za-z0-9]/g, '_').toUpperCase() + '_';
}

/** The variables that carry a credential for `host` to promoter (the child's environment). */
function credentialEnv(host, credential) {
  const prefix = hostEnvPrefix(host);
  const env = {};
  if (credential.entraToken) env[`${prefix}ENTRA_TOKEN`] = credential.entraToken;
  if (credential.identityToken) env[`${prefix}IDENTITY_TOKEN`] = credential.identityToken;
  if (credential.username) env[`${prefix}USERNAME`] = credential.username;
  if (credential.password) env[`${prefix}PASSWORD`] = credential.password;
  return env;
}

/** A case-insensitive lookup in an endpoint's authorization parameters. */
function param(parameters, key) {
  if (!parameters) return undefined;
  const wanted = key.toLowerCase();
  for (const [name, value] of Object.entries(parameters)) {
    if (name.toLowerCase() === wanted && value) return String(value);
  }
  return undefined;
}

/** Whether a line of the child's output holds its own `##vso[task.complete ...]` (the agent
 * finds a logging command anywhere in a line, its name in any case). */
function isTaskComplete(line) {
  return /##vso\[task\.complete[\s\]]/i.test(line);
}

/** `{ failed, message }` for promoter's exit code (null code: killed by `signal`). */
function resultForExit(code, signal) {
  if (code === 0) return { failed: false, message: 'promoter: done' };
  if (code === null || code === undefined) {
    if (signal === 'SIGINT' || signal === 'SIGTERM') {
      return { failed: true, message: `promoter: interrupted (${signal})` };
    }
    return { failed: true, message: `promoter: stopped by ${signal || 'a signal'}` };
  }
  const what = EXIT_MESSAGES[code] || 'failed';
  return { failed: true, message: `promoter: ${what} (exit ${code})` };
}

/** Watches a stream chunk by chunk and calls `onLine` for every complete line. */
class LineWatcher {
  constructor(onLine) {
    this.onLine = onLine;
    this.rest = '';
  }

  push(chunk) {
    const text = this.rest + chunk.toString('utf8');
    const lines = text.split('\n');
    this.rest = lines.pop();
    // A line longer than 64 KiB is no logging command worth watching for.
    if (this.rest.length > 65536) this.rest = this.rest.slice(0, 256);
    for (const line of lines) this.onLine(line.replace(/\r$/, ''));
  }

  end() {
    if (this.rest) this.onLine(this.rest);
    this.rest = '';
  }
}

module.exports = {
  ACR_RESOURCE,
  ACR_SCOPE,
  COMMANDS,
  InputError,
  LineWatcher,
  credentialEnv,
  hostEnvPrefix,
  isTaskComplete,
  param,
  promoterArgs,
  registryHost,
  resultForExit,
  splitArgs,
  splitList,
};
