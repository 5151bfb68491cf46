'use strict';
// The promoter task for Azure Pipelines: a thin shim over the promoter CLI.
//
// It reads the task's inputs, turns the service connection into promoter's per-registry
// variables (in the child's environment, never on its command line), finds a Python
// with promoter (or makes one from the wheel bundled beside this file), and runs
// `python -m promoter --ci azure-devops COMMAND ...` with its output passed through.
// promoter writes the outputs, the summary, the issues and the result itself; the shim
// sets the result from the exit code only when promoter did not.
//
// Every line the shim writes itself shows a value it did not write (an input, a path, an
// error's message) through lib.oneLine, so no input becomes an agent command or a second
// line; the task library's own debug lines of inputs and variables are muted (`quietly`),
// and the shim logs the values itself, made safe. promoter's output (stdout and stderr) is
// passed on line by line on the task's stdout, so the shim's own lines start a line.

const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Writable } = require('stream');

const lib = require('./lib');

const MUTED = new Writable({
  write(_chunk, _encoding, done) {
    done();
  },
});

/** The task library, loaded muted: as it loads it debug-prints the name of every INPUT_*
 * and ENDPOINT_AUTH_* variable, and a service connection's id is part of such a name.
 * (Its `internal` module holds the stream that `tl.setStdStream` sets.) */
function loadTaskLib() {
  const internal = require('azure-pipelines-task-lib/internal');
  internal._setStdStream(MUTED);
  try {
    return require('azure-pipelines-task-lib/task');
  } finally {
    internal._setStdStream(process.stdout);
  }
}

const tl = loadTaskLib();

const HUB_HOSTS = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];
const IMDS_URL = 'http://169.254.169.254/metadata/identity/oauth2/token';
const HTTP_TIMEOUT_MS = 60000;

/** Run `fn` with the task library's output muted: it debug-prints the values it reads. */
function quietly(fn) {
  tl.setStdStream(MUTED);
  try {
    return fn();
  } finally {
    tl.setStdStream(process.stdout);
  }
}

/** An input or variable, read without the task library's debug line of its raw value. */
function input(name) {
  return quietly(() => tl.getInput(name, false));
}

function variable(name) {
  return quietly(() => tl.getVariable(name));
}

/** A debug line of the shim's own: `values` are shown with lib.oneLine. */
function debug(text, ...values) {
  tl.debug([text, ...values.map(lib.oneLine)].join(' '));
}

/** Register a secret with the agent (it masks it in every log line) and return it. */
function secret(value) {
  if (value) tl.setSecret(value);
  return value;
}

/** The endpoint's scheme and a reader of its authorization parameters (muted). */
function endpointAuthorization(id) {
  const auth = quietly(() => tl.getEndpointAuthorization(id, true)) || {};
  const parameters = auth.parameters || {};
  const scheme =
    auth.scheme || quietly(() => tl.getEndpointAuthorizationScheme(id, true)) || 'UsernamePassword';
  const get = (key) =>
    lib.param(parameters, key) || quietly(() => tl.getEndpointAuthorizationParameter(id, key, true));
  return { scheme, get };
}

/** A bounded HTTP exchange that answers JSON; errors never carry the request's secrets. */
async function requestJson(what, url, options) {
  let response;
  try {
    response = await fetch(url, { ...options, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  } catch (error) {
    throw new Error(`${what}: no answer from ${new URL(url).origin} (${error.name})`);
  }
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${what}: ${new URL(url).origin} answered HTTP ${response.status}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what}: ${new URL(url).origin} did not answer JSON`);
  }
}

/** Workload identity federation: the agent's OIDC token for the connection -> Entra ID token. */
async function entraTokenByFederation(id, get) {
  const tenant = get('tenantid');
  const clientId = get('serviceprincipalid');
  if (!tenant || !clientId) {
    throw new lib.InputError(`service connection ${id}: workload identity needs tenantid and serviceprincipalid`);
  }
  const oidcBase = variable('System.OidcRequestUri');
  if (!oidcBase) throw new Error('System.OidcRequestUri is not set: this agent cannot issue OIDC tokens');
  const accessToken = secret(
    quietly(() => tl.getEndpointAuthorizationParameter('SystemVssConnection', 'AccessToken', true)) ||
      variable('System.AccessToken'),
  );
  if (!accessToken) throw new Error('no System.AccessToken to ask for an OIDC token with');
  const oidcUrl = new URL(oidcBase);
  oidcUrl.searchParams.set('api-version', '7.1');
  oidcUrl.searchParams.set('serviceConnectionId', id);
  const oidc = await requestJson('OIDC token request', oidcUrl.toString(), {
    method: 'POST',
    headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
    body: '{}',
  });
  const assertion = secret(oidc && oidc.oidcToken);
  if (!assertion) throw new Error('OIDC token request: the answer holds no oidcToken');

  const authority = (process.env.AZURE_AUTHORITY_HOST || 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const tokenUrl = `${authority}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;
  const form = new URLSearchParams({
    client_id: clientId,
    scope: lib.ACR_SCOPE,
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  });
  const answer = await requestJson('Entra ID token request', tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const token = secret(answer && answer.access_token);
  if (!token) throw new Error('Entra ID token request: the answer holds no access_token');
  return token;
}

/** Managed identity: IDENTITY_ENDPOINT (+IDENTITY_HEADER) when set, else the Azure IMDS. */
async function entraTokenByManagedIdentity(get) {
  const clientId = get('clientid') || get('serviceprincipalid');
  let url;
  const headers = {};
  if (process.env.IDENTITY_ENDPOINT) {
    url = new URL(process.env.IDENTITY_ENDPOINT);
    url.searchParams.set('api-version', '2019-08-01');
    if (process.env.IDENTITY_HEADER) headers['X-IDENTITY-HEADER'] = secret(process.env.IDENTITY_HEADER);
  } else {
    url = new URL(IMDS_URL);
    url.searchParams.set('api-version', '2018-02-01');
    headers.Metadata = 'true';
  }
  url.searchParams.set('resource', lib.ACR_RESOURCE);
  if (clientId) url.searchParams.set('client_id', clientId);
  const answer = await requestJson('managed identity token request', url.toString(), { headers });
  const token = secret(answer && answer.access_token);
  if (!token) throw new Error('managed identity token request: the answer holds no access_token');
  return token;
}

/** The service connection `id` as promoter's variables: `{ host, env }`. */
async function registryCredentials(id) {
  const { scheme, get } = endpointAuthorization(id);
  const kind = scheme.toLowerCase();
  const registryType = (quietly(() => tl.getEndpointDataParameter(id, 'registrytype', true)) || '').toUpperCase();
  const endpointUrl = () => quietly(() => tl.getEndpointUrl(id, true));
  let host;
  let credential;
  if (registryType === 'ACR') {
    host = lib.registryHost(
      get('loginServer') || quietly(() => tl.getEndpointDataParameter(id, 'loginServer', true)) || endpointUrl(),
    );
    if (!host) throw new lib.InputError(`service connection ${id}: no login server`);
    if (kind === 'serviceprincipal') {
      credential = { username: get('serviceprincipalid'), password: secret(get('serviceprincipalkey')) };
    } else if (kind === 'workloadidentityfederation') {
      credential = { entraToken: await entraTokenByFederation(id, get) };
    } else if (kind === 'managedserviceidentity' || kind === 'managedidentity') {
      credential = { entraToken: await entraTokenByManagedIdentity(get) };
    } else {
      throw new lib.InputError(`service connection ${id}: authentication scheme '${scheme}' is not supported`);
    }
  } else {
    host = lib.registryHost(get('registry') || endpointUrl());
    if (!host) throw new lib.InputError(`service connection ${id}: no registry URL`);
    credential = { username: get('username'), password: secret(get('password')) };
  }
  if (!credential.entraToken && !(credential.username && credential.password)) {
    throw new lib.InputError(`service connection ${id}: no username and password for ${host}`);
  }
  const hosts = HUB_HOSTS.includes(host) ? HUB_HOSTS : [host];
  const env = Object.assign({}, ...hosts.map((h) => lib.credentialEnv(h, credential)));
  return { host, env };
}

// ---------------------------------------------------------------------------------------
// Python

function venvPython(dir) {
  return process.platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python');
}

function promoterImportable(python) {
  const probe = childProcess.spawnSync(python, ['-c', 'import promoter, promoter.cli.main'], {
    stdio: 'ignore',
    timeout: 120000,
  });
  return probe.status === 0;
}

function bundledWheel() {
  const dir = path.join(__dirname, 'wheel');
  const wheels = fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => /^promoter-.*\.whl$/.test(name)) : [];
  return wheels.length ? path.join(dir, wheels.sort().pop()) : null;
}

function run(what, file, args) {
  debug(`${what}:`, file, ...args);
  const done = childProcess.spawnSync(file, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 900000 });
  if (done.error) throw new Error(`${what}: ${done.error.message}`);
  if (done.status !== 0) throw new Error(`${what}: exit ${done.status === null ? done.signal : done.status}`);
}

/** A Python that imports promoter: `pythonPath`, else python3 on PATH, else a venv from the wheel. */
function findPython(pythonPath) {
  const base = pythonPath || tl.which('python3', false) || tl.which('python', false);
  if (!base) throw new lib.InputError('no python3 on PATH: install Python 3.10+ or set pythonPath');
  if (pythonPath && !fs.existsSync(pythonPath)) throw new lib.InputError(`pythonPath: ${pythonPath} does not exist`);
  if (promoterImportable(base)) return base;

  const wheel = bundledWheel();
  if (!wheel) {
    throw new lib.InputError(`promoter is not importable by ${base} and this task carries no promoter wheel`);
  }
  const root =
    variable('Agent.ToolsDirectory') || variable('Agent.TempDirectory') || os.tmpdir();
  const dir = path.join(root, 'promoter-task', path.basename(wheel, '.whl'));
  const python = venvPython(dir);
  if (fs.existsSync(python) && promoterImportable(python)) return python;
  const [shownBase, shownWheel, shownDir] = [base, path.basename(wheel), dir].map(lib.oneLine);
  console.log(`promoter is not importable by ${shownBase}: installing ${shownWheel} into ${shownDir}`);
  fs.rmSync(dir, { recursive: true, force: true });
  run('python -m venv', base, ['-m', 'venv', dir]);
  run('pip install', python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', wheel]);
  if (!promoterImportable(python)) throw new Error(`promoter is not importable by ${python} after pip install`);
  return python;
}

// ---------------------------------------------------------------------------------------
// Inputs and the run

const INPUTS = ['command', 'pipeline', 'images', 'stages', 'planFile', 'containerRegistry', 'args'];

function readInputs() {
  const raw = {};
  for (const name of [...INPUTS, 'workingDirectory', 'pythonPath']) {
    raw[name] = input(name);
    tl.debug(`${name}=${lib.oneLine(raw[name])}`);
  }
  const workingDirectory =
    raw.workingDirectory || variable('System.DefaultWorkingDirectory') || process.cwd();
  const command = (raw.command || 'run').trim().toLowerCase();
  let planFile = raw.planFile;
  if (!planFile && (command === 'plan' || command === 'apply')) {
    const staging = variable('Build.ArtifactStagingDirectory');
    planFile = path.join(staging || workingDirectory, 'promoter-plan.json');
  }
  return {
    command,
    pipeline: raw.pipeline || 'pipeline.yml',
    images: lib.splitList(raw.images),
    stages: (raw.stages || '').trim(),
    planFile,
    args: lib.splitArgs(raw.args || ''),
    workingDirectory,
    pythonPath: (raw.pythonPath || '').trim(),
    containerRegistry: (raw.containerRegistry || '').trim(),
  };
}

/** Fail the task: `what` is the shim's own text, `detail` any text (shown with lib.oneLine). */
function fail(code, what, detail) {
  tl.setResult(tl.TaskResult.Failed, `promoter task: ${what}: ${lib.oneLine(detail)}`);
  process.exitCode = code;
}

/** An argument as the `[command]` line shows it: quoted when it needs to be, one safe line. */
function shownArg(arg) {
  return lib.oneLine(/[\s'"\\#\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(arg) ? JSON.stringify(arg) : arg);
}

/** Passes one of promoter's streams on to the task's stdout, whole lines at a time (so two
 * streams never share a line), and reports each line to `watch`. */
function passOn(watch) {
  let atStart = true;
  return new lib.AgentLines((line, end) => {
    if (atStart) watch(line);
    process.stdout.write((atStart ? lib.passedOn(line) : line) + end);
    atStart = end !== '';
  });
}

/** Run promoter, pass its output through, watch for its own task.complete. */
function runPromoter(python, argv, cwd, env) {
  return new Promise((resolve) => {
    let completed = false;
    const watch = (line) => {
      if (lib.isTaskComplete(line)) completed = true;
    };
    const child = childProcess.spawn(python, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const outWatcher = passOn(watch);
    const errWatcher = passOn(watch);
    child.stdout.on('data', (chunk) => outWatcher.push(chunk));
    child.stderr.on('data', (chunk) => errWatcher.push(chunk));
    const forward = (signal) => () => child.kill(signal);
    const handlers = { SIGINT: forward('SIGINT'), SIGTERM: forward('SIGTERM') };
    for (const [signal, handler] of Object.entries(handlers)) process.on(signal, handler);
    child.on('error', (error) => {
      for (const [signal, handler] of Object.entries(handlers)) process.off(signal, handler);
      resolve({ code: null, signal: null, error, completed });
    });
    child.on('close', (code, signal) => {
      for (const [signal_, handler] of Object.entries(handlers)) process.off(signal_, handler);
      outWatcher.end();
      errWatcher.end();
      resolve({ code, signal, error: null, completed });
    });
  });
}

async function main() {
  let inputs;
  let env;
  let python;
  try {
    inputs = readInputs();
    env = { ...process.env, PROMOTER_CI: 'azure-devops' };
    if (inputs.containerRegistry) {
      const { host, env: credentialEnv } = await registryCredentials(inputs.containerRegistry);
      Object.assign(env, credentialEnv);
      const [shownHost, shownId] = [host, inputs.containerRegistry].map(lib.oneLine);
      console.log(`promoter: credentials for ${shownHost} from service connection ${shownId}`);
    }
    python = findPython(inputs.pythonPath);
  } catch (error) {
    const bad = error instanceof lib.InputError;
    fail(bad ? 2 : 3, bad ? 'bad input' : 'operation failed', error.message);
    return;
  }

  let argv;
  try {
    argv = ['-m', 'promoter', '--ci', 'azure-devops', ...lib.promoterArgs(inputs)];
  } catch (error) {
    fail(2, 'bad input', error.message);
    return;
  }
  console.log(`[command]${[python, ...argv].map(shownArg).join(' ')}`);

  const outcome = await runPromoter(python, argv, inputs.workingDirectory, env);
  if (outcome.error) {
    fail(3, `could not start ${lib.oneLine(python)}`, outcome.error.message);
    return;
  }
  if (!outcome.completed) {
    const result = lib.resultForExit(outcome.code, outcome.signal);
    tl.setResult(result.failed ? tl.TaskResult.Failed : tl.TaskResult.Succeeded, result.message);
  }
  process.exitCode = outcome.code === null ? 130 : outcome.code;
}

main().catch((error) => fail(3, 'internal error', error && error.message));
