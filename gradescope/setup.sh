#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image: it installs a
# pinned Deno and caches every dependency, so grading itself needs no network.
set -euo pipefail
DENO_VERSION=2.9.6
SOURCE=/autograder/source

apt-get update -qq
apt-get install -y -qq curl unzip ca-certificates util-linux >/dev/null
curl -fsSL -o /tmp/deno.zip \
  "https://github.com/denoland/deno/releases/download/v${DENO_VERSION}/deno-x86_64-unknown-linux-gnu.zip"
unzip -o -q /tmp/deno.zip -d /usr/local/bin
chmod +x /usr/local/bin/deno
deno --version

cd "$SOURCE"
chmod +x run_autograder setup.sh
# The project's dependencies (deno.json, deno.lock), then what the sandboxed child loads
# exactly as it loads it (no config, the sandbox's import map), so --cached-only finds it.
deno install
deno cache grader/main.ts
deno cache --no-config --import-map=grader/sandbox/import_map.json grader/sandbox/harness.ts
# Q4 scores each model.onnx on the CIFAR-10 test set, in data/ where the grader looks by
# default; fetch it now, since grading should not depend on the network.
deno eval 'import { downloadCifar10 } from "./src/data/download.ts"; await downloadCifar10("data");'
