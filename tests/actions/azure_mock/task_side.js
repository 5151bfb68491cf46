'use strict';
// The task side of a MockTestRunner test (azure-pipelines-task-lib/mock-run): the task's
// inputs from MOCK_TASK_INPUTS (a JSON object), set through TaskMockRunner.setInput, the
// mock's answers (`which` and the like) from MOCK_TASK_ANSWERS, then the real index.js with the task library's mock (mock-task) in place of the real one.
// Nothing else is mocked: index.js spawns `python -m promoter` itself, a real promoter.
const path = require('path');
const { TaskMockRunner } = require('azure-pipelines-task-lib/mock-run');

const taskPath = path.resolve(process.env.MOCK_TASK_INDEX);
const runner = new TaskMockRunner(taskPath);
for (const [name, value] of Object.entries(JSON.parse(process.env.MOCK_TASK_INPUTS || '{}'))) {
  runner.setInput(name, value);
}
if (process.env.MOCK_TASK_ANSWERS) runner.setAnswers(JSON.parse(process.env.MOCK_TASK_ANSWERS));
runner.run();
