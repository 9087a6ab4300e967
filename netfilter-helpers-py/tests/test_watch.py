"""Watch: the kernel's live expectations (ctnetlink). Events and deletions on a live kernel
are tested by the kernel lab (tests/tests/lab_watch.rs) through the same watcher; here the
binding's errors, stop and iteration."""

from __future__ import annotations

import os
import threading
import time

import pytest

import netfilter_helpers as nfh


def test_a_missing_namespace_is_an_oserror_naming_it() -> None:
    with pytest.raises(OSError, match="nfh-py-no-such-namespace"):
        nfh.Watch(netns="/run/netns/nfh-py-no-such-namespace")


def test_needs_cap_net_admin_and_stops_on_request() -> None:
    if os.geteuid() != 0:
        with pytest.raises(PermissionError, match="CAP_NET_ADMIN"):
            nfh.Watch()
        return
    watch = nfh.Watch(nfh.Validator(), enforce=False)
    watch.stop()
    assert list(watch) == []

    watch = nfh.Watch()
    timer = threading.Timer(0.3, watch.stop)
    started = time.monotonic()
    timer.start()
    for event in watch:  # the existing expectations of this namespace, then none until stop()
        assert event.kind in ("existing", "new", "destroyed", "lost", "malformed")
        assert isinstance(event.text, str)
    timer.join()
    assert 0.25 <= time.monotonic() - started < 5
