'use strict';
// The promoter task for Azure Pipelines: a thin shim over the promoter CLI.
//
// It reads the task's inputs, turns the service connection into promoter's per-registry
// variables (in the child's environment, never on its command line), finds a Python
// with promoter (or makes one from the wheel bundled beside this file), and runs
// `python -m promoter --ci azure-devops COMMAND ...` with its output passed through.
// promoter writes the outputs, the summary, the issues and the result itself; the shim
// sets the result from the exit code only when promoter did not.

const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Writable } = require('stream');

const tl = require('azure-pipelines-task-lib/task');
const lib = require('./lib');

const HUB_HOSTS = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];
const IMDS_URL = 'http://169.254.169.254/metadata/identity/oauth2/token';
const HTTP_TIMEOUT_MS = 60000;

/** Run `fn` with the task library's output muted: it debug-prints the values it reads. */
function quietly(fn) {
  const sink = new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
  tl.setStdStream(sink);
  try {
    return fn();
  } finally {
    tl.setStdStream(process.stdout);
  }
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
  const oidcBase = tl.getVariable('System.OidcRequestUri');
  if (!oidcBase) throw new Error('System.OidcRequestUri is not set: this agent cannot issue OIDC tokens');
  const accessToken = secret(
    quietly(() => tl.getEndpointAuthorizationParameter('SystemVssConnection', 'AccessToken', true)) ||
      quietly(() => tl.getVariable('System.AccessToken')),
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
  const registryType = (tl.getEndpointDataParameter(id, 'registrytype', true) || '').toUpperCase();
  let host;
  let credential;
  if (registryType === 'ACR') {
    host = lib.registryHost(
      get('loginServer') || tl.getEndpointDataParameter(id, 'loginServer', true) || tl.getEndpointUrl(id, true),
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
    host = lib.registryHost(get('registry') || tl.getEndpointUrl(id, true));
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
  tl.debug(`${what}: ${file} ${args.join(' ')}`);
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
    tl.getVariable('Agent.ToolsDirectory') || tl.getVariable('Agent.TempDirectory') || os.tmpdir();
  const dir = path.join(root, 'promoter-task', path.basename(wheel, '.whl'));
  const python = venvPython(dir);
  if (fs.existsSync(python) && promoterImportable(python)) return python;
  console.log(`promoter is not importable by ${base}: installing ${path.basename(wheel)} into ${dir}`);
  fs.rmSync(dir, { recursive: true, force: true });
  run('python -m venv', base, ['-m', 'venv', dir]);
  run('pip install', python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', wheel]);
  if (!promoterImportable(python)) throw new Error(`promoter is not importable by ${python} after pip install`);
  return python;
}

// ---------------------------------------------------------------------------------------
// Inputs and the run

function readInputs() {
  const workingDirectory =
    tl.getInput('workingDirectory', false) ||
    tl.getVariable('System.DefaultWorkingDirectory') ||
    process.cwd();
  const command = (tl.getInput('command', false) || 'run').trim().toLowerCase();
  let planFile = tl.getInput('planFile', false);
  if (!planFile && (command === 'plan' || command === 'apply')) {
    const staging = tl.getVariable('Build.ArtifactStagingDirectory');
    planFile = path.join(staging || workingDirectory, 'promoter-plan.json');
  }
  return {
    command,
    pipeline: tl.getInput('pipeline', false) || 'pipeline.yml',
    images: lib.splitList(tl.getInput('images', false)),
    stages: (tl.getInput('stages', false) || '').trim(),
    planFile,
    args: lib.splitArgs(tl.getInput('args', false) || ''),
    workingDirectory,
    pythonPath: (tl.getInput('pythonPath', false) || '').trim(),
    containerRegistry: (tl.getInput('containerRegistry', false) || '').trim(),
  };
}

/** Run promoter, pass its output through, watch for its own task.complete. */
function runPromoter(python, argv, cwd, env) {
  return new Promise((resolve) => {
    let completed = false;
    const watch = (line) => {
      if (lib.isTaskComplete(line)) completed = true;
    };
    const child = childProcess.spawn(python, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const outWatcher = new lib.LineWatcher(watch);
    const errWatcher = new lib.LineWatcher(watch);
    child.stdout.on('data', (chunk) => {
      outWatcher.push(chunk);
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      errWatcher.push(chunk);
      process.stderr.write(chunk);
    });
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
      console.log(`promoter: credentials for ${host} from service connection ${inputs.containerRegistry}`);
    }
    python = findPython(inputs.pythonPath);
  } catch (error) {
    const kind = error instanceof lib.InputError ? 'bad input' : 'operation failed';
    tl.setResult(tl.TaskResult.Failed, `promoter task: ${kind}: ${error.message}`);
    process.exitCode = error instanceof lib.InputError ? 2 : 3;
    return;
  }

  let argv;
  try {
    argv = ['-m', 'promoter', '--ci', 'azure-devops', ...lib.promoterArgs(inputs)];
  } catch (error) {
    tl.setResult(tl.TaskResult.Failed, `promoter task: bad input: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  const shown = argv.map((arg) => (/[\s'"\\]/.test(arg) ? JSON.stringify(arg) : arg)).join(' ');
  console.log(`[command]${python} ${shown}`);

  const outcome = await runPromoter(python, argv, inputs.workingDirectory, env);
  if (outcome.error) {
    tl.setResult(tl.TaskResult.Failed, `promoter task: could not start ${python}: ${outcome.error.message}`);
    process.exitCode = 3;
    return;
  }
  if (!outcome.completed) {
    const result = lib.resultForExit(outcome.code, outcome.signal);
    tl.setResult(result.failed ? tl.TaskResult.Failed : tl.TaskResult.Succeeded, result.message);
  }
  process.exitCode = outcome.code === null ? 130 : outcome.code;
}

main().catch((error) => {
  tl.setResult(tl.TaskResult.Failed, `promoter task: internal error: ${error && error.message}`);
  process.exitCode = 3;
});
