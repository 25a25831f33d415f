// pyproject.toml / setup.py / setup.cfg without a lock: `pip install --editable .`, the project
// with its declared dependencies. Editable: the venv points at the app dir (/workspace), so app
// code changes need no reinstall.
import { projectFiles, type Manager } from './manager';
import { pipInstallCommon, runPip, withVendoredWheels } from './pip-runner';

export const project: Manager = {
  kind: 'project',
  tool: 'pip',
  inputs: (app, manager) => withVendoredWheels({ manager, files: projectFiles(app), switches: [], label: `the project (${manager.files.join(', ')})`, warnings: [], unpinned: [], vendoredWheels: [] }, app),
  install: (step) => runPip(step, [...pipInstallCommon(step.inputs), '--editable', '.']),
};
