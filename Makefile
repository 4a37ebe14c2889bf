# The two commands of the README:
#   make demo   set everything up, then run the demo notebooks end to end (the main job)
#   make test   set everything up (system packages included), then run the whole test suite
# Both keep the project's environment in .venv at the repository root.

.PHONY: demo test setup setup-test lab clean bench

demo: setup
	.venv/bin/python scripts/demo.py

test: setup-test
	scripts/test

setup:
	scripts/setup

setup-test:
	scripts/setup --test

# JupyterLab with the extension, on the demo notebooks
lab: setup
	.venv/bin/jupyter lab --notebook-dir=binder $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: setup-test
	.venv/bin/uv pip install -q --python .venv/bin/python -e ".[bench]"
	.venv/bin/python benchmarks/run_all.py

clean:
	rm -rf .demo test-artifacts jupyter_deploy/labextension labextension/lib labextension/node_modules
