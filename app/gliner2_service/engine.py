"""Running inference off the event loop, coalescing concurrent requests into batch calls.

Every model call goes to a single-worker executor, so the model is used by one thread at a time
(seed 000: "GPU inference is still effectively serialized") and the event loop stays free for
``/health``. With micro-batching on, the texts of concurrent requests that arrive within a short
window are handed to ``batch_extract`` together, one schema per text, sorted by length and cut into
model calls of at most ``MICROBATCH_MAX_TOKENS`` padded tokens (less padding, bounded memory); with it
off, each request is its own model call. Either way:

- a failure stays with its request: a batch that fails is re-run one request at a time;
- work whose client went away is dropped from the queue, and a running call whose every client went
  away is aborted at the next encoder layer;
- after SIGTERM new requests are refused (503), queued work runs until ``SHUTDOWN_GRACE_MS`` and what
  is left then is aborted and refused, so shutdown is bounded whatever was asked.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, TypeVar

from .metrics import ServiceMetrics
from .model import ModelManager
from .prepare import Prepared, Task, prepare, release_memory
from .settings import Settings

LOG = logging.getLogger("app.gliner2_service")
T = TypeVar("T")
__all__ = ["InferenceEngine", "ServiceStopping", "Task", "Aborted", "run_batch"]


class ServiceStopping(RuntimeError):
    """The service is shutting down and will not run this request."""


class Aborted(RuntimeError):
    """A model call stopped at a layer boundary: its clients are gone or shutdown's deadline passed."""


@dataclass
class _Item:
    text: str
    tokens: int
    prepared: Prepared
    threshold: float
    request: int
    future: "asyncio.Future[Dict[str, Any]]" = field(repr=False)


def install_abort_hooks(model: Any, flag: Callable[[], Optional[threading.Event]]) -> int:
    """Check ``flag()`` before every encoder layer; a set flag raises Aborted (returns hooks installed)."""
    import torch

    def check(module: Any, args: Any) -> None:
        event = flag()
        if event is not None and event.is_set():
            raise Aborted("model call aborted")

    hooks = 0
    root = getattr(model, "encoder", model)
    if not isinstance(root, torch.nn.Module):
        return 0  # not a torch model (a test double): calls run to the end
    for sub in root.modules():
        if isinstance(sub, torch.nn.ModuleList):
            for layer in sub:
                layer.register_forward_pre_hook(check)
                hooks += 1
    return hooks


def run_batch(model: Any, items: Sequence[_Item], threshold: float, abort: threading.Event,
              min_ms: int = 0) -> List[Dict[str, Any]]:
    """One ``batch_extract`` call over ``items``, one schema per text (on the inference thread)."""
    start = time.perf_counter()
    if abort.is_set():
        raise Aborted("model call aborted before it started")
    raw = model.batch_extract([i.text for i in items], [i.prepared.schema for i in items],
                              batch_size=max(1, len(items)), threshold=threshold)
    while (time.perf_counter() - start) * 1000 < min_ms:  # INFERENCE_MIN_MS: a known duration
        if abort.wait(0.01):
            raise Aborted("model call aborted")
    if len(items) * max(i.tokens for i in items) >= 1024:  # large enough to leave freed heap behind
        release_memory()
    return [i.prepared.task.normalize(r) for i, r in zip(items, raw)]


class InferenceEngine:
    """Runs requests through the model; ``settings.microbatch`` decides whether requests are coalesced."""

    #: re-run a failed batch one request at a time (a known-bad fixture turns it off)
    isolate_failures = True

    def __init__(self, settings: Settings, manager: ModelManager, executor: ThreadPoolExecutor,
                 metrics: ServiceMetrics, preparer: Callable[..., Prepared] = prepare) -> None:
        self.settings = settings
        self.preparer = preparer
        self.manager = manager
        self.executor = executor
        self.prep_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gliner2-prep")
        self.metrics = metrics
        self._queue: "asyncio.Queue[List[_Item]]" = asyncio.Queue()
        self._worker: Optional["asyncio.Task[None]"] = None
        self._stopping = False
        self._deadline_passed = False
        self._running: Optional[threading.Event] = None
        self._unresolved: Dict[int, int] = {}  # request id -> its texts not answered yet
        self._preparing = 0  # requests accepted and still being prepared: in flight, not queued yet
        self._in_flight_at_last_call = 0  # requests in flight when the last model call ended
        self._next_request = 0
        self._hooked: set[int] = set()

    async def call_in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the inference thread; the event loop never runs the model."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def call_in_prep(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the preparation thread (schema building, token counting)."""
        return await asyncio.get_running_loop().run_in_executor(self.prep_executor, fn, *args)

    async def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain(), name="gliner2-batcher")

    def begin_shutdown(self) -> None:
        """SIGTERM: refuse new work now; at the grace deadline abort and refuse what is left."""
        if self._stopping:
            return
        self._stopping = True
        LOG.info("GLiNER2 service stopping: %d request(s) in flight, %.1f s to finish them",
                 len(self._unresolved), self.settings.shutdown_grace_s)
        asyncio.get_running_loop().call_later(self.settings.shutdown_grace_s, self._pass_deadline)

    def _pass_deadline(self) -> None:
        self._deadline_passed = True
        if self._running is not None:
            self._running.set()
        self._fail_queued()

    def _fail_queued(self) -> None:
        while not self._queue.empty():
            for item in self._queue.get_nowait():
                self._resolve(item, None, ServiceStopping("service is shutting down; retry elsewhere"))
        self.metrics.queue_depth.set(0)

    async def stop(self) -> None:
        """Refuse new work, fail what still waits, stop the worker."""
        self._stopping = self._deadline_passed = True
        if self._running is not None:
            self._running.set()
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        self._fail_queued()
        self.prep_executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, texts: Sequence[str], task: Task, threshold: float, what: str = "labels") -> List[Dict[str, Any]]:
        """Results for ``texts`` in order; raises RequestRefused, ModelLoadError or ServiceStopping."""
        if self._stopping:
            raise ServiceStopping("service is shutting down; retry elsewhere")
        loaded = await self.manager.get()
        if id(loaded.model) not in self._hooked:
            install_abort_hooks(loaded.model, lambda: self._running)
            self._hooked.add(id(loaded.model))
        # A request that arrived before SIGTERM is served (until the grace deadline), even if its
        # preparation ends after it.
        self._preparing += 1
        try:
            prepared = await self.call_in_prep(self.preparer, loaded.model, list(texts), task, self.settings, what)
        finally:
            self._preparing -= 1
        if self._deadline_passed:
            raise ServiceStopping("service is shutting down; retry elsewhere")
        loop = asyncio.get_running_loop()
        self._next_request += 1
        items = [_Item(t, n, prepared, threshold, self._next_request, loop.create_future())
                 for t, n in zip(prepared.texts, prepared.tokens)]
        self._unresolved[self._next_request] = len(items)
        self._queue.put_nowait(items)
        self.metrics.queue_depth.set(self._queued_texts())
        try:
            return list(await asyncio.gather(*(item.future for item in items)))
        except asyncio.CancelledError:
            # The client went away (or the server is cancelling): nothing left to compute for it.
            self.metrics.texts_cancelled.inc(sum(1 for i in items if not i.future.done()))
            for item in items:
                item.future.cancel()
            raise

    async def _collect(self) -> List[_Item]:
        """The next batch: one request, plus (micro-batching) what arrives within the window, up to the cap."""
        batch = list(await self._queue.get())
        if self.settings.microbatch:
            cap = self.settings.microbatch_max_items
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.settings.microbatch_window_ms / 1000.0
            while len(batch) < cap:
                if not self._queue.empty():
                    batch.extend(self._queue.get_nowait())
                    continue
                if not self._others_in_flight(batch):
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.extend(await asyncio.wait_for(self._queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
        self.metrics.queue_depth.set(self._queued_texts())
        return batch

    def _queued_texts(self) -> int:
        pending: List[List[_Item]] = list(self._queue._queue)  # type: ignore[attr-defined]
        return sum(len(request) for request in pending)

    def _others_in_flight(self, batch: List[_Item]) -> bool:
        """Wait for latecomers only when other requests are in flight (queued or still being prepared) or
        were when the last call ended: a lone client never pays the window. The second matters under load:
        the clients a call answers come back a few milliseconds after it, and a batcher that started the next
        call without them would split the clients into groups that never meet again (measured with 16
        clients: calls of 1 and 15 texts in turn, the call of 1 costing as much as 2 texts of the other)."""
        requests = len({i.request for i in batch})
        return requests < max(self._requests_in_flight(), self._in_flight_at_last_call)

    def _requests_in_flight(self) -> int:
        """Requests accepted and not answered yet: being prepared, queued or in a model call."""
        return len(self._unresolved) + self._preparing

    def _calls(self, items: List[_Item]) -> List[List[_Item]]:
        """Model calls for ``items``: one threshold each, sorted by length, padded tokens within budget."""
        calls: List[List[_Item]] = []
        by_threshold: Dict[float, List[_Item]] = {}
        for item in items:
            by_threshold.setdefault(item.threshold, []).append(item)
        budget = self.settings.microbatch_max_tokens
        for group in by_threshold.values():
            current: List[_Item] = []
            for item in sorted(group, key=lambda i: i.tokens):
                # Sorted ascending, so the newcomer is the longest: padded size = count x its tokens.
                if current and (len(current) + 1) * item.tokens > budget:
                    calls.append(current)
                    current = []
                current.append(item)
            if current:
                calls.append(current)
        return calls

    async def _drain(self) -> None:
        while True:
            batch = await self._collect()
            for call in self._calls(batch):
                await self._run(call)

    async def _run(self, items: List[_Item]) -> None:
        live = [i for i in items if not i.future.done()]
        for item in items:
            if item.future.done():  # its client went away; nothing to compute
                self._resolve(item, None, None)
        if not live:
            return
        if self._deadline_passed:
            for item in live:
                self._resolve(item, None, ServiceStopping("service is shutting down; retry elsewhere"))
            return
        abort = threading.Event()

        def on_done(_: "asyncio.Future[Dict[str, Any]]") -> None:
            if all(i.future.done() for i in live):
                abort.set()  # every client of this call is gone: stop at the next layer

        for item in live:
            item.future.add_done_callback(on_done)
        self._running = abort
        self.metrics.batch_size.observe(len(live))
        loaded = self.manager.loaded
        try:
            if loaded is None:  # submit() loads before queueing; kept for safety
                loaded = await self.manager.get()
            results = await self.call_in_worker(run_batch, loaded.model, live, live[0].threshold, abort,
                                                self.settings.inference_min_ms)
        except Aborted:
            self.metrics.texts_aborted.inc(len(live))
            for item in live:
                self._resolve(item, None, ServiceStopping("service is shutting down; retry elsewhere"))
            return
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests, one request at a time
            requests = sorted({i.request for i in live})
            if len(requests) > 1 and self.isolate_failures:
                LOG.warning("GLiNER2 batch of %d texts from %d requests failed (%s: %s); re-running each "
                            "request alone", len(live), len(requests), type(exc).__name__, exc)
                for request in requests:
                    await self._run([i for i in live if i.request == request])
                return
            LOG.exception("GLiNER2 inference failed for one request of %d texts", len(live))
            for item in live:
                self._resolve(item, None, exc)
            return
        finally:
            self._running = None
            for item in live:
                item.future.remove_done_callback(on_done)
        self.metrics.texts_inferred.inc(len(live))
        self._in_flight_at_last_call = self._requests_in_flight()
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
