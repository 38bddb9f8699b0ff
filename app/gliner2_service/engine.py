"""Running inference off the event loop, coalescing concurrent requests into batch calls.

Every model call goes to a single-worker executor, so the model is used by one thread at a time
(seed 000: "GPU inference is still effectively serialized") and the event loop stays free for
``/health``. With micro-batching on, texts from concurrent requests that arrive within a short
window are handed to ``batch_extract`` together, one schema per text, which is what the library's
batch API accepts.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar

from .metrics import ServiceMetrics
from .model import ModelManager
from .settings import Settings

LOG = logging.getLogger("app.gliner2_service")
T = TypeVar("T")


class ServiceStopping(RuntimeError):
    """The service is shutting down and will not run this request."""


@dataclass(frozen=True)
class Task:
    """What to extract: ``kind`` is entities, classify or json; ``spec`` its labels/tasks/structures."""

    kind: str
    spec: Tuple[Any, ...]

    def keys(self) -> List[str]:
        """Labels (entities), task names (classify) or structure names (json)."""
        if self.kind == "entities":
            return [str(x) for x in self.spec]
        return [str(name) for name, _ in self.spec]

    def schema(self, model: Any) -> Any:
        """The library schema for this task (the same builders the single-text helpers use)."""
        if self.kind == "entities":
            return model.create_schema().entities(list(self.spec))
        if self.kind == "classify":
            return model._classification_schema({k: list(v) for k, v in self.spec})
        if self.kind == "json":
            return model._json_schema({k: list(v) for k, v in self.spec})
        raise ValueError(f"task kind must be entities, classify or json, but got {self.kind!r}")

    def normalize(self, raw: Mapping[str, Any]) -> Dict[str, Any]:
        """Give every answer the same shape: every requested key present, lists never None."""
        if self.kind == "entities":
            found = raw.get("entities", {}) or {}
            return {"entities": {label: [str(x) for x in (found.get(label) or [])]
                                 for label in self.keys()}}
        if self.kind == "classify":
            out: Dict[str, Any] = {}
            for task in self.keys():
                value = raw.get(task)
                out[task] = value if isinstance(value, (str, list)) else None
            return {"classification": out}
        records = {name: list(raw.get(name) or []) for name in self.keys()}
        return {"structures": records}


@dataclass
class _Item:
    text: str
    task: Task
    threshold: float
    request: int
    future: "asyncio.Future[Dict[str, Any]]" = field(repr=False)


def run_batch(model: Any, items: Sequence[Tuple[str, Task]], threshold: float) -> List[Dict[str, Any]]:
    """One ``batch_extract`` call over ``items`` (text, task), one schema per text."""
    texts = [text for text, _ in items]
    schemas = [task.schema(model) for _, task in items]
    raw = model.batch_extract(texts, schemas, batch_size=max(1, len(texts)), threshold=threshold)
    return [task.normalize(r) for (_, task), r in zip(items, raw)]


class InferenceEngine:
    """Runs requests through the model; ``microbatch`` decides whether requests are coalesced."""

    def __init__(self, settings: Settings, manager: ModelManager, executor: ThreadPoolExecutor,
                 metrics: ServiceMetrics) -> None:
        self.settings = settings
        self.manager = manager
        self.executor = executor
        self.metrics = metrics
        self._queue: "asyncio.Queue[_Item]" = asyncio.Queue()
        self._worker: Optional["asyncio.Task[None]"] = None
        self._stopping = False
        self._unresolved: Dict[int, int] = {}  # request id -> its texts not answered yet
        self._next_request = 0

    async def call_in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the inference thread; the event loop never runs the model."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def start(self) -> None:
        if self.settings.microbatch and self._worker is None:
            self._worker = asyncio.create_task(self._drain(), name="gliner2-microbatch")

    async def stop(self) -> None:
        """Refuse new work, fail what still waits, stop the worker."""
        self._stopping = True
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        while not self._queue.empty():
            self._resolve(self._queue.get_nowait(), None, ServiceStopping("service is shutting down"))
        self.metrics.queue_depth.set(0)

    async def submit(self, texts: Sequence[str], task: Task, threshold: float) -> List[Dict[str, Any]]:
        """Results for ``texts`` in order; raises ModelLoadError or ServiceStopping."""
        if self._stopping:
            raise ServiceStopping("service is shutting down")
        loaded = await self.manager.get()
        if not self.settings.microbatch:
            self.metrics.batch_size.observe(len(texts))
            return await self.call_in_worker(run_batch, loaded.model, [(t, task) for t in texts],
                                             threshold)
        loop = asyncio.get_running_loop()
        self._next_request += 1
        items = [_Item(t, task, threshold, self._next_request, loop.create_future()) for t in texts]
        for item in items:
            self._queue.put_nowait(item)
        self.metrics.queue_depth.set(self._queue.qsize())
        self._unresolved[self._next_request] = len(items)
        return list(await asyncio.gather(*(item.future for item in items)))

    async def _collect(self) -> List[_Item]:
        """The next batch: what is queued now, plus what arrives within the window, up to the cap."""
        batch = [await self._queue.get()]
        cap = self.settings.microbatch_max_items
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.microbatch_window_ms / 1000.0
        while len(batch) < cap:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            # Wait for latecomers only when other requests are in flight: a lone client never
            # pays the window, and under load the queue refills while the model runs anyway.
            if len({i.request for i in batch}) >= len(self._unresolved):
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except asyncio.TimeoutError:
                break
        self.metrics.queue_depth.set(self._queue.qsize())
        return batch

    async def _drain(self) -> None:
        while True:
            batch = await self._collect()
            loaded = self.manager.loaded
            # batch_extract takes one threshold per call: group by it, keeping arrival order.
            groups: Dict[float, List[_Item]] = {}
            for item in batch:
                groups.setdefault(item.threshold, []).append(item)
            for threshold, group in groups.items():
                live = [i for i in group if not i.future.done()]
                for item in group:
                    if item.future.done():  # its client went away; nothing to compute
                        self._resolve(item, None, None)
                if not live:
                    continue
                self.metrics.batch_size.observe(len(live))
                try:
                    if loaded is None:  # submit() loads before queueing; kept for safety
                        loaded = await self.manager.get()
                    results = await self.call_in_worker(
                        run_batch, loaded.model, [(i.text, i.task) for i in live], threshold)
                except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
                    LOG.exception("GLiNER2 batch of %d failed", len(live))
                    for item in live:
                        self._resolve(item, None, exc)
                    continue
                for item, result in zip(live, results):
                    self._resolve(item, result, None)

    def _resolve(self, item: _Item, result: Optional[Dict[str, Any]],
                 error: Optional[BaseException]) -> None:
        left = self._unresolved.get(item.request, 1) - 1
        if left > 0:
            self._unresolved[item.request] = left
        else:
            self._unresolved.pop(item.request, None)
        if item.future.done():
            return
        if error is not None:
            item.future.set_exception(error)
        elif result is not None:
            item.future.set_result(result)
