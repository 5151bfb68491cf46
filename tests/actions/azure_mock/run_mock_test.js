'use strict';
// A MockTestRunner test (azure-pipelines-task-lib/mock-test), as task authors write them:
// runs task_side.js under the Node that MockTestRunner finds in its _download folder (a
// pre-placed local node: nothing is downloaded) and prints what the runner read from the
// task's stdout as one JSON document.
const path = require('path');
const { MockTestRunner } = require('azure-pipelines-task-lib/mock-test');

async function main() {
  const runner = new MockTestRunner(path.join(__dirname, 'task_side.js'), process.env.MOCK_TASK_JSON);
  await runner.runAsync(Number(process.env.MOCK_NODE_MAJOR || '20'));
  process.stdout.write(
    JSON.stringify({
      succeeded: runner.succeeded,
      failed: runner.failed,
      errorIssues: runner.errorIssues,
      warningIssues: runner.warningIssues,
      invokedToolCount: runner.invokedToolCount,
      cmdlines: Object.keys(runner.cmdlines),
      stdout: runner.stdout,
      stderr: runner.stderr,
    }),
  );
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack}\n`);
  process.exitCode = 1;
});
