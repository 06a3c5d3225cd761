"""Every definition a synth embeds, rendered in a second process while the app builds its stacks.

Why: importing the SageMaker SDK and building nine definitions is about a third of a full
synth, and the CDK app spends most of its own time waiting on its Node.js process. Started
before the app imports CDK, the worker does that work on the other core and hands each
definition over as soon as it is rendered, in the order the stacks ask for them. A definition
the worker did not render (not asked for, failed to render, or the worker died) is rendered in
the asking process by the same function, so the text never depends on which process made it,
and a render error is raised there with its own traceback. A definition already in the
:class:`~pipeline_def.definition.cache.DefinitionCache` is read from it; no worker starts when
every one asked for is there.

Run as ``python -m pipeline_def.definition.render_worker``: one pickled list of requests on
stdin (a file); one pickled ``(request, text)`` on stdout per request, as each is rendered.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from pipeline_def.config import EnvironmentConfig, IngestionSettings, MonitoringSettings, PipelineSettings
from pipeline_def.definition import render
from pipeline_def.definition.cache import DefinitionCache

Kind = Literal["training", "monitoring", "ingestion"]
KINDS: tuple[Kind, ...] = ("training", "monitoring", "ingestion")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILDER = "pipeline_def.definition.builder"


@dataclass(frozen=True)
class Request:
    """One ``render*`` call: which template, its settings and the content digest in its S3 keys."""

    kind: Kind
    args: tuple[Any, ...]
    digest: str


def requests_for(configs: Iterable[EnvironmentConfig], kinds: Collection[Kind] = KINDS) -> list[Request]:
    """What the stages of these environments ask for, in the order they ask (see ``MlopsStage``)."""
    scripts, package = render.scripts_digest(), render.package_digest()
    requests: list[Request] = []
    for config in configs:
        if config.ingestion.enabled:
            requests.append(Request("ingestion", (config.pipeline, config.ingestion), package))
        requests.append(Request("training", (config.pipeline,), scripts))
        requests.append(Request("monitoring", (config.pipeline, config.monitoring), scripts))
    return [request for request in requests if request.kind in kinds]


def render_request(request: Request) -> str:
    function = {
        "training": render.render,
        "monitoring": render.render_monitoring,
        "ingestion": render.render_ingestion,
    }[request.kind]
    return function(*request.args, digest=request.digest)


class Definitions:
    """The rendered templates the stacks embed, by request; ``ahead`` starts the worker."""

    def __init__(
        self,
        worker: subprocess.Popen[bytes] | None = None,
        errors: IO[bytes] | None = None,
        *,
        cache: DefinitionCache | None = None,
    ) -> None:
        """``cache=None``: the cache ``PIPELINE_DEF_CACHE`` names (the project's by default)."""
        self._worker = worker
        self._errors = errors
        self._cache = DefinitionCache.from_environment() if cache is None else cache
        self._rendered: dict[Request, str] = {}

    @classmethod
    def ahead(
        cls,
        configs: Iterable[EnvironmentConfig],
        kinds: Collection[Kind] = KINDS,
        *,
        worker: bool | None = None,
        cache: DefinitionCache | None = None,
    ) -> Definitions:
        """Start rendering the ``kinds`` of definition of ``configs`` in a worker process, now.

        Only those not in the cache; ``worker=None`` starts one only where it pays: once this
        process has imported the builder (and with it the SDK), rendering here takes a fraction
        of a second, less than a new process's imports.
        """
        found = cls(cache=cache)
        missing = [request for request in requests_for(configs, kinds) if not found._from_cache(request)]
        if not missing or worker is False or (worker is None and BUILDER in sys.modules):
            return found
        # Files, not pipes, where nothing streams: writing the requests cannot fail on a worker
        # that died at start, and a chatty worker cannot block on its stderr.
        requests, errors = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
        pickle.dump(missing, requests)
        requests.seek(0)
        worker = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=requests,
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=PROJECT_ROOT,
        )
        requests.close()
        found._worker, found._errors = worker, errors
        return found

    def __enter__(self) -> Definitions:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop a worker whose definitions nobody will ask for (a synth that stopped early)."""
        if self._worker is not None:
            self._worker.kill()
            self._worker.wait()
            assert self._worker.stdout is not None
            self._worker.stdout.close()
            self._worker = None
        if self._errors is not None:
            self._errors.close()
            self._errors = None

    def training(self, settings: PipelineSettings, *, digest: str) -> str:
        return self._get(Request("training", (settings,), digest))

    def monitoring(self, settings: PipelineSettings, monitoring: MonitoringSettings, *, digest: str) -> str:
        return self._get(Request("monitoring", (settings, monitoring), digest))

    def ingestion(self, settings: PipelineSettings, ingestion: IngestionSettings, *, digest: str) -> str:
        return self._get(Request("ingestion", (settings, ingestion), digest))

    def _get(self, request: Request) -> str:
        if self._from_cache(request):
            return self._rendered[request]
        while request not in self._rendered and self._worker is not None:
            self._receive(self._worker)
        if request not in self._rendered:
            self._keep(request, render_request(request))
        return self._rendered[request]

    def _from_cache(self, request: Request) -> bool:
        if request not in self._rendered:
            text = self._cache.get(self._key(request))
            if text is not None:
                self._rendered[request] = text
        return request in self._rendered

    def _keep(self, request: Request, text: str) -> None:
        self._rendered[request] = text
        self._cache.put(self._key(request), text)

    def _key(self, request: Request) -> str | None:
        return self._cache.key(request.kind, request.args, request.digest)

    def _receive(self, worker: subprocess.Popen[bytes]) -> None:
        """Take the worker's next definition; at its end, warn if it failed before finishing."""
        assert worker.stdout is not None
        try:
            received, text = pickle.load(worker.stdout)  # noqa: S301 - our own child, over its own pipe
        except (EOFError, pickle.UnpicklingError):  # its end, or a reply cut short by its death
            self._worker = None
            worker.stdout.close()
            if worker.wait() != 0:
                self._warn(worker.returncode)
            return
        if text is not None:
            self._keep(received, text)

    def _warn(self, returncode: int) -> None:
        assert self._errors is not None
        self._errors.seek(0)
        lines = self._errors.read().decode(errors="replace").strip().splitlines() or ["no message"]
        warnings.warn(
            f"the definition worker exited {returncode} ({lines[-1]}); rendering in this process",
            RuntimeWarning,
            stacklevel=4,
        )


def main(requests: Sequence[Request], out: IO[bytes]) -> None:
    """Render each request and send it on; a failed one is sent as ``None`` and not retried here.

    The asking process renders a ``None`` itself, so a bad setting fails there, with its own
    traceback, and the requests after it still arrive rendered.
    """
    for request in requests:
        try:
            text: str | None = render_request(request)
        except Exception:  # noqa: BLE001 - reported by the asking process, which renders it again
            text = None
        pickle.dump((request, text), out)
        out.flush()


if __name__ == "__main__":
    main(pickle.load(sys.stdin.buffer), sys.stdout.buffer)  # noqa: S301 - sent by the parent that started us
