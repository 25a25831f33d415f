// The `pipenv` layer (build, cache): Pipenv, pinned in buildpack.toml (pipenv-version), from
// requirements/pipenv.txt (see hashed-tool.ts). Only for apps with a Pipfile and no Pipfile.lock,
// whose lock it makes at build time. Build-only: Pipenv is not in the image. Its downloads go to
// the pip-cache layer (PIP_CACHE_DIR), which the install uses too.
import { defineHashedToolLayer } from './hashed-tool';

export const pipenvLayer = defineHashedToolLayer('pipenv');
