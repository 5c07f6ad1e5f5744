#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hcsd driven by the Python docker SDK (Debian python3-docker), as an
application would: each step asserts what dockerd answers. Run by
tests/test_hcsd_sdk.c with DOCKER_HOST naming a fresh hcsd; exits 0 when
every step held, else prints the step that failed and exits 1."""
import os
import socket
import sys
import time

import docker

IMG = "busybox"
LABEL = "hcs.test.job"
step = "start"


def late(cmd):
    """cmd after a short sleep. docker-py reads an exec's output from the
    raw socket under http.client's buffered reader: frames that arrive
    with the 101 head land in that buffer and are lost (docker-py issue
    3332, open; dockerd hits it less often because runc exec takes tens of
    milliseconds). hcsd starts an exec within a millisecond, so the
    output waits until the client has read the head."""
    return ["sh", "-c", "sleep 0.3; " + cmd]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    global step
    c = docker.from_env(timeout=60)

    step = "ping/version"
    check(c.ping() is True, "ping")
    api = os.environ.get("SDK_EXPECT_API", "1.50")
    check(c.version()["ApiVersion"] == api, c.version())

    step = "images.list/get"
    imgs = c.images.list()
    check(any("busybox:latest" in i.tags for i in imgs),
          [i.tags for i in imgs])
    img = c.images.get(IMG)
    check("busybox:latest" in img.tags, img.tags)
    check(img.id.startswith("sha256:"), img.id)
    try:
        c.images.get("no-such-image:here")
        check(False, "images.get of a missing image did not raise")
    except docker.errors.ImageNotFound:
        pass

    step = "containers.run foreground"
    out = c.containers.run(IMG, ["sh", "-c", "echo hi; echo err >&2"],
                           remove=True)
    check(out == b"hi\n", out)
    out = c.containers.run(IMG, ["sh", "-c", "echo out; echo err >&2"],
                           stdout=True, stderr=True, remove=True)
    check(sorted(out.split()) == [b"err", b"out"], out)
    try:
        c.containers.run(IMG, ["sh", "-c", "echo bad >&2; exit 3"],
                         remove=True)
        check(False, "a failing run did not raise")
    except docker.errors.ContainerError as e:
        check(e.exit_status == 3, e.exit_status)
        check(b"bad" in (e.stderr or b""), e.stderr)

    step = "containers.run detached, labels"
    other = c.containers.run(IMG, ["sleep", "300"], detach=True,
                             labels={LABEL: "other"}, name="sdk-other")
    mine = c.containers.run(IMG, ["sh", "-c", "echo started; sleep 300"],
                            detach=True, labels={LABEL: "mine"},
                            name="sdk-mine", environment={"FOO": "bar"})
    mine.reload()
    check(mine.status == "running", mine.status)
    check(mine.labels.get(LABEL) == "mine", mine.labels)
    check(mine.name == "sdk-mine", mine.name)

    step = "containers.list filters"
    got = c.containers.list(filters={"label": LABEL + "=mine"})
    check([x.id for x in got] == [mine.id], [x.name for x in got])
    got = c.containers.list(filters={"label": LABEL})
    check(sorted(x.id for x in got) == sorted([mine.id, other.id]),
          [x.name for x in got])
    got = c.containers.list(filters={"name": "sdk-other"})
    check([x.id for x in got] == [other.id], [x.name for x in got])

    step = "exec_run"
    r = mine.exec_run(late("echo $FOO; echo e >&2; exit 4"))
    check(r.exit_code == 4, r)
    check(sorted(r.output.split()) == [b"bar", b"e"], r.output)
    r = mine.exec_run(late("echo o; echo e >&2"), demux=True)
    check(r.exit_code == 0, r)
    check(r.output == (b"o\n", b"e\n"), r.output)
    r = mine.exec_run(late("echo only-err >&2"), demux=True)
    check(r.output == (None, b"only-err\n"), r.output)
    r = mine.exec_run(late("for i in 1 2 3; do echo l$i; sleep 0.2; "
                            "done"), stream=True)
    chunks = list(r.output)
    check(b"".join(chunks) == b"l1\nl2\nl3\n", chunks)
    check(len(chunks) >= 2, "stream gave the output in one piece: %r"
          % chunks)
    r = mine.exec_run(late("echo a; echo b >&2"), stream=True, demux=True)
    outs, errs = b"", b""
    for o, e in r.output:
        outs += o or b""
        errs += e or b""
    check((outs, errs) == (b"a\n", b"b\n"), (outs, errs))
    r = mine.exec_run(late("pwd"), workdir="/tmp", user="nobody")
    check(r.exit_code == 0 and r.output == b"/tmp\n", r)
    r = mine.exec_run(late("id -u"), user="nobody")
    check(r.output == b"65534\n", r.output)

    step = "logs"
    logs = mine.logs()
    check(logs == b"started\n", logs)
    logs = mine.logs(timestamps=True)
    check(logs.endswith(b" started\n") and logs[:2] == b"20", logs)

    step = "attach_socket"
    att = c.containers.create(IMG, ["sh", "-c", "read x; echo got:$x"],
                              stdin_open=True, labels={LABEL: "mine"})
    s = att.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    att.start()
    raw = s._sock
    raw.sendall(b"ping\n")
    data = b""
    deadline = time.time() + 20
    raw.settimeout(20)
    while time.time() < deadline:
        b = raw.recv(4096)
        if not b:
            break
        data += b
        if b"got:ping\n" in data:
            break
    s.close()
    check(b"got:ping\n" in data, data)
    res = att.wait(timeout=30)
    check(res["StatusCode"] == 0, res)
    att.remove()

    step = "wait"
    w = c.containers.run(IMG, ["sh", "-c", "exit 7"], detach=True)
    res = w.wait(timeout=30)
    check(res["StatusCode"] == 7, res)
    w.reload()
    check(w.status == "exited" and w.attrs["State"]["ExitCode"] == 7,
          w.attrs["State"])
    w.remove()

    step = "networks"
    n = c.networks.create("sdk-net", driver="bridge",
                          labels={LABEL: "mine"})
    check(n.name == "sdk-net", n.name)
    names = [x.name for x in c.networks.list()]
    check("sdk-net" in names and "host" in names and "none" in names, names)
    got = c.networks.list(filters={"label": LABEL + "=mine"})
    check([x.id for x in got] == [n.id], [x.name for x in got])
    n.reload()
    check(n.attrs["Driver"] == "bridge", n.attrs)
    n.remove()
    check("sdk-net" not in [x.name for x in c.networks.list()], "not gone")

    step = "volumes"
    v = c.volumes.create("sdk-vol", labels={LABEL: "mine"})
    check(v.name == "sdk-vol", v.name)
    check("sdk-vol" in [x.name for x in c.volumes.list()], "not listed")
    got = c.volumes.list(filters={"label": LABEL + "=mine"})
    check([x.name for x in got] == ["sdk-vol"], [x.name for x in got])
    out = c.containers.run(IMG, ["sh", "-c", "echo kept > /v/f"],
                           volumes={"sdk-vol": {"bind": "/v", "mode": "rw"}},
                           remove=True)
    out = c.containers.run(IMG, ["cat", "/v/f"],
                           volumes=["sdk-vol:/v:ro"], remove=True)
    check(out == b"kept\n", out)
    v.remove()
    check("sdk-vol" not in [x.name for x in c.volumes.list()], "not gone")

    step = "cleanup by label"
    for x in c.containers.list(all=True, filters={"label": LABEL + "=mine"}):
        x.remove(force=True)
    left = [x.name for x in c.containers.list(all=True)]
    check(left == ["sdk-other"], left)
    other.reload()
    check(other.status == "running", other.status)
    other.stop(timeout=1)
    other.remove()
    check(c.containers.list(all=True) == [], "containers left")
    c.close()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report which step, then fail
        import traceback
        traceback.print_exc()
        print("sdk.py: step \"%s\" failed: %s: %s"
              % (step, type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
    print("sdk.py: all steps passed")
