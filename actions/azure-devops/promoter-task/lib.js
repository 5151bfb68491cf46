'use strict';
// Pure helpers of the promoter task: no task state, no I/O. index.js wires them up.

const { StringDecoder } = require('string_decoder');
const { TaskCommand, commandFromString } = require('azure-pipelines-task-lib/taskcommand');

/** The names of the per-registry variables promoter reads (promoter.registry.access.keychain). */
const ENV_PREFIX = 'PROMOTER_REGISTRY_';

/** The Entra ID scope (v2) and resource (managed identity, v1) of Azure Container Registry. */
const ACR_SCOPE = 'https://containerregistry.azure.net/.default';
const ACR_RESOURCE = 'https://containerregistry.azure.net';

const COMMANDS = ['run', 'plan', 'apply', 'check', 'promote', 'copy', 'rollback', 'prune'];

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
      return ['apply', inputs.planFile, '-f', pipeline, ...extra]; // the checkout's file
    case 'check':
      return ['check', '-f', pipeline, ...extra];
    case 'rollback': // IMAGE from images; --tag, --to, --reason from args or the environment
      return ['rollback', '-f', pipeline, ...(inputs.images || []), ...extra];
    case 'prune': // a dry run unless Arguments say --apply; the plan file, when given: --out
      return ['prune', '-f', pipeline, ...images, ...(inputs.planFile ? ['--out', inputs.planFile] : []), ...extra];
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

/**
 * One value the task did not write (an input, a path, an error's message) made safe to
 * show in a line of the task's output. The agent acts on the first `##vso[` anywhere in a
 * line, renders `##[error]`, `##[group]`... and splits lines on CR as well as LF: control
 * characters become escapes (`\r`, `\n`, `\x1b`, `\u2028`) so the value stays on its line,
 * and the first `#` of `##[` and `##vso[` (any case) becomes the text `\u0023`. These are
 * promoter's own rules (promoter.untrusted.one_line), so both write the same escapes.
 */
function oneLine(value) {
  const text = value === null || value === undefined ? '' : String(value);
  return text.replace(CONTROL, escapeControl).replace(HASH_COMMAND, '\\u0023#');
}

// Control characters but the tab: C0, DEL, C1, and the Unicode line and paragraph separators.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/g;
const HASH_COMMAND = /##(?=\[|vso\[)/gi;
const NAMED = { '\n': '\\n', '\r': '\\r' };

function escapeControl(char) {
  if (NAMED[char]) return NAMED[char];
  const code = char.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A line of promoter's output as the task passes it on: promoter's `task.logissue` (the
 * agent's name) becomes `task.issue` (the task library's name for the same command, the one
 * its MockTestRunner counts), re-escaped by the task library; every other line is unchanged.
 */
function passedOn(line) {
  if (!/^##vso\[task\.logissue[\s\]]/i.test(line)) return line;
  let command;
  try {
    command = commandFromString(line);
  } catch {
    return line;
  }
  return new TaskCommand('task.issue', command.properties, command.message).toString();
}

/**
 * Splits a stream into lines as the agent does (LF, CR or CR LF ends a line) and calls
 * `onLine(line, end)` for each, `end` being the line's own terminator ('' for a piece of a
 * very long line). Bytes are decoded as UTF-8 across chunks; a CR at a chunk's end waits
 * for the next chunk (it may start with LF).
 */
class AgentLines {
  constructor(onLine) {
    this.onLine = onLine;
    this.decoder = new StringDecoder('utf8');
    this.rest = '';
  }

  push(chunk) {
    let text = this.rest + this.decoder.write(chunk);
    let held = '';
    if (text.endsWith('\r')) {
      held = '\r';
      text = text.slice(0, -1);
    }
    const pattern = /\r\n|\r|\n/g;
    let start = 0;
    for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
      this.onLine(text.slice(start, match.index), match[0]);
      start = match.index + match[0].length;
    }
    this.rest = text.slice(start);
    // A line longer than 64 KiB is passed on in pieces: `end` '' says the line goes on.
    if (this.rest.length > 65536) {
      this.onLine(this.rest, '');
      this.rest = '';
    }
    this.rest += held;
  }

  end() {
    const text = this.rest + this.decoder.end();
    this.rest = '';
    if (text.endsWith('\r')) this.onLine(text.slice(0, -1), '\r');
    else if (text) this.onLine(text, '\n');
  }
}

module.exports = {
  ACR_RESOURCE,
  ACR_SCOPE,
  COMMANDS,
  AgentLines,
  InputError,
  credentialEnv,
  hostEnvPrefix,
  isTaskComplete,
  oneLine,
  param,
  passedOn,
  promoterArgs,
  registryHost,
  resultForExit,
  splitArgs,
  splitList,
};
