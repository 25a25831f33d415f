// The package managers, by the kind src/project.ts's chooseDependencies picks. Adding one (Poetry,
// Pipenv without a lock) is a file beside these and a line here.
import type { PackageManager } from '../project';
import type { Manager } from './manager';
import { pip } from './pip';
import { pipenv } from './pipenv';
import { pipfile } from './pipfile';
import { poetry } from './poetry';
import { project } from './project';
import { uv } from './uv';

export const MANAGERS: Readonly<Record<PackageManager['kind'], Manager>> = { pip, pipenv, pipfile, poetry, uv, project };

export type { DependencyInputs, Manager } from './manager';
